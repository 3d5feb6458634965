// `factory doctor` on swarm: the nodes with their labels, and per profile the nodes its placement admits, from the
// real node list of a single-node swarm (and the scheduler's constraint rules checked on node shapes).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { main } from '../../controller/commands/cli.js';
import { STANDIN_IMAGE } from '../../controller/commands/demo.js';
import { nodesFor, satisfies, type SwarmNode } from '../../controller/docker/swarm-placement.js';
import { GitHubStandin } from '../../controller/github/standin/github-standin.js';
import { releaseSwarm, useSwarm } from '../support/swarm.js';

const node = (hostname: string, labels: Record<string, string>, more: Partial<SwarmNode> = {}): SwarmNode => ({
  ID: `id-${hostname}`,
  Description: { Hostname: hostname, Platform: { OS: 'linux', Architecture: 'x86_64' } },
  Spec: { Role: 'worker', Availability: 'active', Labels: labels },
  Status: { State: 'ready' },
  ...more,
});

describe('placement constraints', () => {
  const lane = node('vps-1', { 'factory.lane': 'true' });
  const plain = node('vps-2', {});
  const drained = node(
    'vps-3',
    { 'factory.lane': 'true' },
    { Spec: { Role: 'worker', Availability: 'drain', Labels: { 'factory.lane': 'true' } } },
  );

  it("follows Docker's rules: == needs the value, != holds when it differs or is missing", () => {
    expect(satisfies(lane, 'node.labels.factory.lane == true')).toBe(true);
    expect(satisfies(plain, 'node.labels.factory.lane == true')).toBe(false);
    expect(satisfies(plain, 'node.labels.factory.lane != true')).toBe(true);
    expect(satisfies(lane, 'node.hostname==VPS-1')).toBe(true);
    expect(satisfies(lane, 'node.role == manager')).toBe(false);
    expect(satisfies(lane, 'node.platform.arch == x86_64')).toBe(true);
  });

  it('admits only ready, active nodes', () => {
    expect(nodesFor(['node.labels.factory.lane == true'], [lane, plain, drained]).map((n) => n.ID)).toEqual([
      'id-vps-1',
    ]);
    expect(nodesFor([], [lane, plain, drained]).map((n) => n.ID)).toEqual(['id-vps-1', 'id-vps-2']);
  });
});

describe('factory doctor on a single-node swarm', () => {
  const label = `factory-test-${randomBytes(4).toString('hex')}`;
  let root: string;
  let github: GitHubStandin;
  let nodeId: string;
  let output: { code: number; out: string };

  beforeAll(async () => {
    await useSwarm();
    nodeId = execFileSync('docker', ['info', '--format', '{{.Swarm.NodeID}}'], { encoding: 'utf8' }).trim();
    execFileSync('docker', ['node', 'update', '--label-add', `${label}=lane`, nodeId], { stdio: 'ignore' });
    root = mkdtempSync(join(tmpdir(), 'factory-doctor-swarm-'));
    github = new GitHubStandin();
    await github.start();
    const profile = (placement: string[]) => ({
      labels: ['self-hosted', 'factory'],
      image: STANDIN_IMAGE,
      placement,
    });
    const file = join(root, 'factory.yml');
    writeFileSync(
      file,
      stringify({
        backend: 'swarm',
        github: {
          apiUrl: github.url,
          auth: { tokenEnv: 'DOCTOR_SWARM_TOKEN' },
          webhook: { secret: { env: 'UNUSED' } },
        },
        stateDir: join(root, 'state'),
        profiles: {
          placed: profile([`node.labels.${label} == lane`]),
          nowhere: profile([`node.labels.${label} == gpu`]),
        },
        repos: [{ repo: 'factory-test/doctor-swarm', profiles: ['placed', 'nowhere'] }],
      }),
    );
    const lines: string[] = [];
    process.env.DOCTOR_SWARM_TOKEN = 'ghs_doctor_swarm';
    const code = await main(['doctor', '--config', file], {
      stdout: (s) => lines.push(s),
      stderr: (s) => lines.push(s),
    });
    delete process.env.DOCTOR_SWARM_TOKEN;
    output = { code, out: lines.join('\n') };
  }, 120_000);

  afterAll(async () => {
    execFileSync('docker', ['node', 'update', '--label-rm', label, nodeId], { stdio: 'ignore' });
    await github.stop();
    rmSync(root, { recursive: true, force: true });
    await releaseSwarm();
  });

  it('lists the node with its role, state and labels', () => {
    const hostname = execFileSync('docker', ['node', 'inspect', nodeId, '--format', '{{.Description.Hostname}}'], {
      encoding: 'utf8',
    }).trim();
    expect(output.out).toMatch(new RegExp(`✓ swarm +node ${hostname} +manager, ready, active; .*${label}=lane`));
  });

  it('says where each profile can run, and fails the one no node admits with the fix', () => {
    expect(output.out).toMatch(
      new RegExp(`✓ placed +swarm placement +placement node.labels.${label} == lane: can run on `),
    );
    expect(output.out).toMatch(
      new RegExp(
        `✗ nowhere +swarm placement +placement node.labels.${label} == gpu: no ready node fits\\n +fix: label a node`,
      ),
    );
    expect(output.code).toBe(1);
  });
});
