// Paperclip's agents in lanes: its codex_local adapter runs `command` (here deploy/paperclip/lane-agent) with codex's
// arguments, the prompt on stdin, the agent's workspace as the working folder and PAPERCLIP_* in the environment. The
// real codex CLI in the real factory/base, through the loopback fake model, changes the issue's status on a Paperclip
// stand-in with the run's own token, and writes into the workspace on the host. A profile with egress reaches
// Paperclip only through its gateway's relay, and what it tries elsewhere is refused and reported.
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeModelServer, type FakeModelServer } from '../support/fake-model-server.js';
import { docker } from '../support/harness.js';
import { offlineCliEnv, writeLaneHomes, type LaneHomes } from '../support/lane-homes.js';
import { ensureLocalBase } from '../support/local-base.js';
import { startPaperclipStandin, type PaperclipStandin } from '../support/paperclip-standin.js';

const root = join(import.meta.dirname, '../..');
const INSTANCE = `paperclip-${process.pid}`;
let image: string;
let model: FakeModelServer;
let paperclip: PaperclipStandin;
let dir: string;
let homes: LaneHomes;
let configFile: string;
let bin: string;

beforeAll(async () => {
  image = await ensureLocalBase();
  model = await startFakeModelServer();
  paperclip = await startPaperclipStandin();
  dir = mkdtempSync(join(tmpdir(), 'factory-paperclip-'));
  chmodSync(dir, 0o755);
  homes = writeLaneHomes(join(dir, 'host'), model.url);
  const raw = {
    instance: INSTANCE,
    github: { auth: { tokenEnv: 'GH_TOKEN' }, webhook: { secret: { env: 'S' } } },
    stateDir: join(dir, 'state'),
    profiles: {
      codex: {
        labels: ['self-hosted', 'factory', 'codex'],
        image,
        trusted: true,
        lane: 'codex',
        network: 'host',
        memory: '2g',
        env: offlineCliEnv(model.url),
        mounts: [{ kind: 'auth', agent: 'codex', source: homes.codexHome }],
      },
      fenced: {
        labels: ['self-hosted', 'factory', 'fenced'],
        image,
        trusted: true,
        network: 'bridge',
        egress: { allow: [], loopback: [`127.0.0.1:${paperclip.port}`] },
      },
    },
    repos: [{ repo: 'ainative-academy/aina-platform', profiles: ['codex', 'fenced'] }],
  };
  configFile = join(dir, 'factory.yml');
  writeFileSync(configFile, stringify(raw));
  // `factory` on PATH as an installed one would be, run from the sources.
  bin = join(dir, 'bin');
  mkdirSync(bin);
  const loader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const cli = pathToFileURL(join(root, 'controller/commands/cli.ts')).href;
  writeFileSync(
    join(bin, 'factory'),
    `#!/bin/sh\nexec '${process.execPath}' --import '${loader}' -e "import('${cli}').then(async (m) => { process.exitCode = await m.main(process.argv.slice(1)); })" "$@"\n`,
    { mode: 0o755 },
  );
}, 30 * 60_000);

afterAll(async () => {
  await model?.close();
  await paperclip?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function run(command: string[], opts: { cwd: string; env: Record<string, string>; stdin?: string }) {
  const child = spawn(command[0]!, command.slice(1), {
    cwd: opts.cwd,
    env: { PATH: `${bin}:${process.env.PATH}`, HOME: process.env.HOME ?? '/root', ...opts.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  child.stdin.end(opts.stdin ?? '');
  return {
    code: new Promise<number | null>((resolve) => child.on('close', resolve)),
    stdout: () => out,
    stderr: () => err,
  };
}

/** What of this file's lane runs is still on the engine: containers, gateways, networks. */
async function leftovers() {
  const label = { label: [`factory.instance=${INSTANCE}.lane-run`] };
  const [containers, networks] = await Promise.all([
    docker.listContainers({ all: true, filters: label }),
    docker.listNetworks({ filters: label }),
  ]);
  const lanes = (await docker.listContainers({ all: true })).filter((c) =>
    c.Mounts.some((m) => m.Source.startsWith(dir)),
  );
  return { gateways: containers.length, networks: networks.length, lanes: lanes.length };
}

describe("Paperclip's adapter runs its agent in a lane", () => {
  it('the real codex CLI sets the issue done with its run token and writes the workspace on the host', async () => {
    paperclip.issues.set('PC-12', { id: 'PC-12', title: 'Fix the login page', status: 'in_progress', comments: [] });
    const agentRun = paperclip.startRun('agent-codex-1');
    const workspace = join(dir, 'workspaces', 'PC-12');
    mkdirSync(workspace, { recursive: true });
    chmodSync(join(dir, 'workspaces'), 0o755);
    execFileSync('git', ['init', '-q', workspace]);
    chmodSync(workspace, 0o777);
    const patch =
      'curl -sf -X PATCH "$PAPERCLIP_API_URL/api/issues/$PAPERCLIP_TASK_ID" ' +
      '-H "Authorization: Bearer $PAPERCLIP_API_KEY" -H "X-Paperclip-Run-Id: $PAPERCLIP_RUN_ID" ' +
      '-H \'content-type: application/json\' -d \'{"status":"done","comment":"fixed in the lane"}\' ' +
      '&& echo "$(pwd) $CODEX_HOME" > lane-note.txt';
    model.script('openai', [
      { kind: 'tool', name: 'exec_command', input: { cmd: patch } },
      { kind: 'text', text: 'PC-12 is done.' },
    ]);

    // What codex_local passes: `exec --json --dangerously-bypass-approvals-and-sandbox -`, the prompt on stdin.
    const lane = run(
      [join(root, 'deploy/paperclip/lane-agent'), 'exec', '--json', '--dangerously-bypass-approvals-and-sandbox', '-'],
      {
        cwd: workspace,
        stdin: 'Fix the login page, then mark PC-12 done.\n',
        env: {
          FACTORY_CONFIG: configFile,
          PAPERCLIP_API_URL: paperclip.url,
          PAPERCLIP_API_KEY: agentRun.token,
          PAPERCLIP_RUN_ID: agentRun.runId,
          PAPERCLIP_TASK_ID: 'PC-12',
          PAPERCLIP_AGENT_ID: agentRun.agentId,
          PAPERCLIP_COMPANY_ID: 'company-1',
          // Paperclip's managed codex home on the host: the lane's own copy of the profile's login is used instead.
          CODEX_HOME: join(dir, 'paperclip-codex-home'),
        },
      },
    );

    expect(await lane.code, lane.stderr()).toBe(0);
    expect(lane.stdout()).toContain('PC-12 is done.');
    expect(paperclip.issues.get('PC-12')).toMatchObject({ status: 'done', comments: ['fixed in the lane'] });
    expect(paperclip.writes).toEqual([
      {
        issueId: 'PC-12',
        actor: 'agent:agent-codex-1',
        runId: agentRun.runId,
        body: { status: 'done', comment: 'fixed in the lane' },
      },
    ]);
    expect(readFileSync(join(workspace, 'lane-note.txt'), 'utf8')).toBe(`${workspace} /factory/auth/codex\n`);
    const prompt = JSON.stringify(model.requests.filter((r) => r.api === 'openai').at(0)?.body);
    expect(prompt).toContain('mark PC-12 done');
    expect(await leftovers()).toEqual({ gateways: 0, networks: 0, lanes: 0 });
  }, 180_000);

  it('behind egress, Paperclip is reached through the relay, another host is refused and reported, nothing is left', async () => {
    const workspace = join(dir, 'workspaces', 'fenced');
    mkdirSync(workspace, { recursive: true });
    chmodSync(workspace, 0o777);
    const script = [
      'echo "api:$PAPERCLIP_API_URL"',
      'curl -sf "$PAPERCLIP_API_URL/api/auth/get-session"; echo',
      'echo "elsewhere:$(curl -s -o /dev/null -w "%{http_code}" http://pastebin.test/upload)"',
    ].join('\n');
    const lane = run(
      [
        'factory',
        'lane',
        'run',
        '--config',
        configFile,
        '--profile',
        'fenced',
        '--workdir',
        workspace,
        '--env',
        'PAPERCLIP_*',
        '--',
        'sh',
        '-c',
        script,
      ],
      { cwd: workspace, env: { PAPERCLIP_API_URL: paperclip.url } },
    );

    expect(await lane.code, lane.stderr()).toBe(0);
    const out = lane.stdout();
    expect(out).not.toContain(`api:${paperclip.url}`);
    expect(out).toMatch(new RegExp(`^api:http://[0-9.]+:${paperclip.port}$`, 'm'));
    expect(out).toContain('"name":"Local Board"');
    expect(out).toContain('elsewhere:403');
    expect(lane.stderr()).toMatch(/factory lane run: egress blocked: pastebin\.test:80/);
    expect(await leftovers()).toEqual({ gateways: 0, networks: 0, lanes: 0 });
  }, 180_000);

  it('refuses a --workdir that is relative, missing, or holds the state folder, and a bad --env, before starting anything', async () => {
    const cases: [string[], RegExp][] = [
      [['--workdir', 'relative/dir'], /--workdir: "relative\/dir" is not an absolute path/],
      [['--workdir', join(dir, 'nope')], /--workdir: .*\/nope does not exist/],
      [['--workdir', dir], /holds or is inside the controller's stateDir/],
      [['--env', 'NOT-A-NAME'], /--env: "NOT-A-NAME" is not a variable name/],
    ];
    for (const [args, message] of cases) {
      const lane = run(
        ['factory', 'lane', 'run', '--config', configFile, '--profile', 'fenced', ...args, '--', 'true'],
        {
          cwd: dir,
          env: {},
        },
      );
      expect(await lane.code, args.join(' ')).not.toBe(0);
      expect(lane.stderr()).toMatch(message);
    }
    expect(await leftovers()).toEqual({ gateways: 0, networks: 0, lanes: 0 });
  }, 120_000);
});
