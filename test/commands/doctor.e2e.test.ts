// `factory doctor` against the real Docker engine: checks run inside a container made from each profile.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { main } from '../../controller/commands/cli.js';
import { GitHubStandin } from '../../controller/github/standin/github-standin.js';
import { STANDIN_IMAGE } from '../../controller/commands/demo.js';
import { docker } from '../support/harness.js';

const LINEAR_TOKEN = 'lin_api_doctor_secret_9f8e7d';
const GH_TOKEN = 'ghs_doctor_token_1a2b3c';
let root: string;
let github: GitHubStandin;
let service: Server;
let probeUrl: string;
let output: { code: number; out: string };

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'factory-doctor-'));
  chmodSync(root, 0o755);
  const hostside = join(root, 'hostside');
  const codexHome = join(root, 'home', '.codex');
  const claudeHome = join(root, 'home', '.claude');
  const secrets = join(root, 'secrets');
  const pkm = join(root, 'pkm');
  for (const d of [hostside, codexHome, claudeHome, secrets, pkm]) mkdirSync(d, { recursive: true });
  // The controller's view of its state folder is a different path than the host's: the double mount.
  symlinkSync(hostside, join(root, 'view'));
  writeFileSync(
    join(codexHome, 'auth.json'),
    JSON.stringify({ tokens: { id_token: 'i', access_token: 'a', refresh_token: 'r' } }),
    { mode: 0o600 },
  );
  writeFileSync(
    join(claudeHome, '.credentials.json'),
    JSON.stringify({ claudeAiOauth: { accessToken: 'sk-ant-oat-x', refreshToken: 'sk-ant-ort-y', expiresAt: 1 } }),
    { mode: 0o600 },
  );
  writeFileSync(join(root, 'home', '.claude.json'), JSON.stringify({ numStartups: 3 }), { mode: 0o600 });
  writeFileSync(join(secrets, 'linear.env'), `LINEAR_TOKEN=${LINEAR_TOKEN}\n`, { mode: 0o644 });
  writeFileSync(join(pkm, 'pkm.sqlite'), 'notes');

  service = createServer((_req, res) => res.writeHead(204).end());
  await new Promise<void>((r) => service.listen(0, '127.0.0.1', r));
  probeUrl = `http://127.0.0.1:${(service.address() as { port: number }).port}/api/health`;
  github = new GitHubStandin();
  await github.start();

  const lane = {
    labels: ['self-hosted', 'factory', 'claude'],
    image: STANDIN_IMAGE,
    trusted: true,
    network: 'host',
    probes: [probeUrl],
    mounts: [
      { kind: 'auth', agent: 'codex', source: codexHome },
      { kind: 'auth', agent: 'claude', source: claudeHome, claudeJson: join(root, 'home', '.claude.json') },
      { kind: 'secrets', source: secrets },
      { kind: 'data', source: pkm, target: '/data/pkm' },
    ],
    envFiles: [join(secrets, 'linear.env')],
    mcp: [
      { name: 'shell', command: 'sh' },
      { name: 'codegraph', command: 'codegraph', args: ['serve', '--mcp'] },
      { name: 'linear', url: 'https://mcp.linear.app/mcp', tokenEnv: 'LINEAR_TOKEN' },
      { name: 'sentry', url: 'https://mcp.sentry.dev/mcp', tokenEnv: 'SENTRY_TOKEN' },
    ],
  };
  const sealed = {
    labels: ['self-hosted', 'factory', 'sealed'],
    image: STANDIN_IMAGE,
    trusted: true,
    network: 'none',
    probes: [probeUrl],
  };
  const file = join(root, 'factory.yml');
  writeFileSync(
    file,
    stringify({
      github: {
        apiUrl: github.url,
        auth: { tokenEnv: 'DOCTOR_GH_TOKEN' },
        webhook: { secret: { env: 'DOCTOR_WEBHOOK_SECRET' } },
      },
      stateDir: join(root, 'view', 'state'),
      hostPathMap: [{ from: join(root, 'view'), to: hostside }],
      profiles: { lane, sealed },
      repos: [{ repo: 'factory-test/doctor', profiles: ['lane', 'sealed'] }],
    }),
  );
  const lines: string[] = [];
  process.env.DOCTOR_GH_TOKEN = GH_TOKEN;
  process.env.DOCTOR_WEBHOOK_SECRET = 'a-webhook-secret-long-enough';
  const code = await main(['doctor', '--config', file], { stdout: (s) => lines.push(s), stderr: (s) => lines.push(s) });
  delete process.env.DOCTOR_GH_TOKEN;
  delete process.env.DOCTOR_WEBHOOK_SECRET;
  output = { code, out: lines.join('\n') };
  if (process.env.SHOW_DOCTOR) console.log(output.out);
}, 120_000);

afterAll(async () => {
  await github.stop();
  await new Promise<void>((r) => service.close(() => r()));
  rmSync(root, { recursive: true, force: true });
});

const row = (scope: string, name: string) =>
  output.out
    .split('\n')
    .find((l) => new RegExp(`^[✓✗] ${scope} +${name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}  `).test(l));

describe('factory doctor', () => {
  it('passes the lane profile checks that hold, from inside its container', () => {
    expect(row('lane', 'auth codex auth.json on host')).toMatch(/^✓ .*parses as codex credentials/);
    expect(row('lane', 'auth codex auth.json')).toMatch(/^✓ .*readable and writable by uid 1000 only \(mode 600\)/);
    expect(row('lane', 'auth claude .credentials.json on host')).toMatch(/^✓ .*parses as claude credentials/);
    expect(row('lane', 'auth claude .credentials.json')).toMatch(
      /^✓ .*readable and writable by uid 1000 only \(mode 600\)/,
    );
    expect(row('lane', 'secrets /factory/secrets')).toMatch(/^✓ .*1 entries, read-only/);
    expect(row('lane', 'data /data/pkm')).toMatch(/^✓ .*1 entries readable/);
    expect(row('lane', `probe ${probeUrl}`)).toMatch(/^✓ .*answers/);
    expect(row('lane', 'mcp shell command')).toMatch(/^✓ .*sh$/);
    expect(row('lane', 'mcp linear token')).toMatch(/^✓ .*LINEAR_TOKEN is set/);
    expect(row('lane', 'host path map')).toMatch(/^✓ .*read back/);
    expect(row('host', 'docker engine')).toMatch(/^✓/);
    expect(row('host', 'github factory-test/doctor')).toMatch(/^✓ .*runner API answers/);
    expect(row('host', 'webhook secret')).toMatch(
      /^✓ .*environment variable DOCTOR_WEBHOOK_SECRET is set \(28 characters\)/,
    );
    expect(output.out).toMatch(/^[✓✗] host +disk \//m);
  });

  it('fails what is missing, with the fix under each failure, and exits non-zero', () => {
    expect(output.code).toBe(1);
    expect(row('lane', 'mcp codegraph command')).toMatch(/^✗ .*codegraph not on PATH/);
    expect(row('lane', 'mcp sentry token')).toMatch(/^✗ .*SENTRY_TOKEN is not set/);
    expect(row('sealed', `probe ${probeUrl}`)).toMatch(/^✗ .*no answer within 5 s \(network none\)/);
    expect(output.out).toContain(`fix: use network: host so the lane reaches ${probeUrl} on the host's loopback`);
    expect(output.out).toContain('fix: install codegraph in the image factory-test/runner:1');

    expect(output.out).toMatch(/3 of \d+ checks failed/);
  });

  it('never prints a secret value and leaves no container or job folder behind', async () => {
    expect(output.out).not.toContain(LINEAR_TOKEN);
    expect(output.out).not.toContain(GH_TOKEN);
    const leftovers = await docker.listContainers({
      all: true,
      filters: JSON.stringify({ label: ['factory.doctor=true'] }),
    });
    expect(
      leftovers.filter((c) =>
        c.Names.some((n) => n.includes('factory-doctor-lane') || n.includes('factory-doctor-sealed')),
      ),
    ).toEqual([]);
    expect(readdirSync(join(root, 'hostside', 'state', 'doctor', 'jobs'))).toEqual([]);
    expect(readdirSync(join(root, 'hostside', 'state', 'doctor', 'probes'))).toEqual([]);
  });
});
