// `factory lane run`, the built CLI as a separate process, on the real engine with the real factory/base: the real
// claude and codex CLIs answer through the loopback fake model, stdin reaches the command, its exit code comes back,
// a token refresh reaches the host file, a signal still cleans up, and the credential is one lock with workflow jobs.
import { spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { EventEmitter } from 'node:events';
import { tmpdir } from 'node:os';
import { PassThrough } from 'node:stream';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type Config } from '../../controller/config/config.js';
import { runCommand } from '../../controller/commands/command-line.js';
import { LANE_RUN_LABEL, laneProgram } from '../../controller/commands/lane-command.js';
import { credentialHolders, lockCredential, unlockCredential } from '../../controller/lanes/credential-lock.js';
import { holdCredential } from '../../controller/lanes/credential-hold.js';
import { finishJobFolder } from '../../controller/lanes/job-folder.js';
import { jobDir } from '../../controller/lanes/lane-layout.js';
import { startFakeModelServer, type FakeModelServer } from '../support/fake-model-server.js';
import { docker, waitFor } from '../support/harness.js';
import { claudeLogin, offlineCliEnv, writeLaneHomes, type LaneHomes } from '../support/lane-homes.js';
import { ensureLocalBase } from '../support/local-base.js';
import { setTimeout as sleep } from 'node:timers/promises';

const root = join(import.meta.dirname, '../..');
let image: string;
let model: FakeModelServer;
let dir: string;
let homes: LaneHomes;
let configFile: string;
let config: Config;

beforeAll(async () => {
  image = await ensureLocalBase();
  model = await startFakeModelServer();
  dir = mkdtempSync(join(tmpdir(), 'factory-lane-run-'));
  chmodSync(dir, 0o755);
  homes = writeLaneHomes(join(dir, 'host'), model.url);
  const gh = join(dir, 'gh');
  const secrets = join(dir, 'secrets');
  const data = join(dir, 'data');
  for (const d of [gh, secrets, data]) mkdirSync(d, { mode: 0o755 });
  writeFileSync(join(gh, 'hosts.yml'), 'github.com:\n  oauth_token: gho_lanerunfake\n  user: octo\n', { mode: 0o644 });
  writeFileSync(join(secrets, 'linear.env'), 'LINEAR_TOKEN=lin_api_lanerun\n', { mode: 0o644 });
  writeFileSync(join(data, 'note.txt'), 'from the data store\n', { mode: 0o644 });
  const lane = (agent: 'claude' | 'codex', mounts: unknown[]) => ({
    labels: ['self-hosted', 'factory', agent],
    image,
    trusted: true,
    lane: agent,
    network: 'host',
    memory: '2g',
    env: offlineCliEnv(model.url),
    mounts,
  });
  const raw = {
    github: { auth: { tokenEnv: 'GH_TOKEN' }, webhook: { secret: { env: 'S' } } },
    stateDir: join(dir, 'state'),
    profiles: {
      claude: {
        ...lane('claude', [
          { kind: 'auth', agent: 'claude', source: homes.claudeConfigDir, claudeJson: homes.claudeJson },
          { kind: 'secrets', source: secrets },
          { kind: 'data', source: data, target: '/data/notes' },
          { kind: 'gh', source: gh },
        ]),
        envFiles: [join(secrets, 'linear.env')],
        mcp: [{ name: 'pkm-agent', command: 'uv', args: ['run', 'server.py'] }],
      },
      codex: lane('codex', [{ kind: 'auth', agent: 'codex', source: homes.codexHome }]),
    },
    repos: [{ repo: 'ainative-academy/aina-platform', profiles: ['claude', 'codex'] }],
  };
  configFile = join(dir, 'factory.yml');
  writeFileSync(configFile, stringify(raw));
  const parsed = parseConfig(stringify(raw));
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  config = parsed.config;
}, 30 * 60_000);

afterAll(async () => {
  await model?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Containers, job folders and credential places this file's lane runs left: none, after each test. */
async function leftovers() {
  const containers = (await docker.listContainers({ all: true, filters: { label: [LANE_RUN_LABEL] } })).filter(
    (c) =>
      c.Image === image && c.Labels['factory.profile'] !== undefined && c.Names.some((n) => n.startsWith('/lane-')),
  );
  const jobs = join(config.stateDir, 'jobs');
  return {
    containers: containers.filter((c) => c.Mounts.some((m) => m.Source.startsWith(dir))).length,
    jobFolders: existsSync(jobs) ? readdirSync(jobs) : [],
    holders: (await credentialHolders(config)).map((h) => h.holder.name),
  };
}

afterEach(async () => {
  expect(await leftovers()).toEqual({ containers: 0, jobFolders: [], holders: [] });
});

interface LaneRun {
  code: Promise<number | null>;
  stdout: () => string;
  stderr: () => string;
  kill(signal: NodeJS.Signals): void;
}

function laneRun(args: string[], command: string[], stdin = ''): LaneRun {
  const child = spawn(
    process.execPath,
    [join(root, 'bin/factory.js'), 'lane', 'run', '--config', configFile, ...args, '--', ...command],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  child.stdin.end(stdin);
  return {
    code: new Promise((resolve) => child.on('close', resolve)),
    stdout: () => out,
    stderr: () => err,
    kill: (s) => child.kill(s),
  };
}

describe('factory lane run', () => {
  it("gives the command stdin and the profile's connections, and returns its exit code", async () => {
    const script = [
      'read line; echo "stdin:$line"',
      'test -r /factory/mcp/claude.json && echo "mcp:$(cat "$FACTORY_MCP_CLAUDE" | tr -d " \\n")"',
      'test -r "$CLAUDE_CONFIG_DIR/.credentials.json" && echo "auth:$CLAUDE_CONFIG_DIR"',
      'test -r "$GH_CONFIG_DIR/hosts.yml" && ! touch "$GH_CONFIG_DIR/x" 2>/dev/null && echo "gh:read-only"',
      'test -r /factory/secrets/linear.env && echo "secrets:read"',
      'echo "data:$(cat /data/notes/note.txt)"',
      'echo "linear:${LINEAR_TOKEN:+set}" "uid:$(id -u)" "sandbox:$FACTORY_SANDBOX"',
      'echo "to stderr" >&2',
      'exit 7',
    ].join('\n');
    const run = laneRun(
      ['--profile', 'claude', '--repo', 'ainative-academy/aina-platform'],
      ['sh', '-c', script],
      'hello lane\n',
    );

    expect(await run.code, run.stderr()).toBe(7);
    const out = run.stdout();
    expect(out).toContain('stdin:hello lane\n');
    expect(out).toContain('mcp:{"mcpServers":{"pkm-agent":{"type":"stdio","command":"uv","args":["run","server.py"]');
    expect(out).toContain('auth:/factory/auth/claude\n');
    expect(out).toContain('gh:read-only\n');
    expect(out).toContain('secrets:read\n');
    expect(out).toContain('data:from the data store\n');
    expect(out).toContain('linear:set uid:1000 sandbox:container\n');
    expect(run.stderr()).toContain('to stderr');
    expect(out).not.toContain('to stderr');
  }, 120_000);

  it('gives the command a tty when its stdin is one', async () => {
    // util-linux `script` runs the CLI on a pseudo-terminal, as an operator's shell would.
    const cli = [
      process.execPath,
      join(root, 'bin/factory.js'),
      'lane',
      'run',
      '--config',
      configFile,
      '--profile',
      'claude',
      '--',
    ];
    const inner = `sh -c 'test -t 0 && test -t 1 && echo "tty:yes"; read l; echo "got:$l"; exit 3'`;
    const child = spawn('script', ['-qec', `${cli.map((a) => `'${a}'`).join(' ')} ${inner}`, '/dev/null'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const code = new Promise((resolve) => child.on('close', resolve));
    await waitFor('the tty check', () => out.includes('tty:yes'), 60_000);
    child.stdin.write('over the tty\r');
    expect(await code, out).toBe(3);
    expect(out).toContain('got:over the tty');
  }, 120_000);

  it("follows the terminal's size when it changes", async () => {
    // A terminal as Node has one: a tty stdin, and a stdout with a size that emits `resize` on SIGWINCH.
    const stdin = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => stdin });
    const stdout = Object.assign(new PassThrough(), { columns: 100, rows: 30 });
    let out = '';
    stdout.on('data', (c: Buffer) => (out += c.toString()));
    const io = { stdout: () => {}, stderr: (s: string) => void (out += s) };
    const terminal = { stdin, stdout, stderr: new PassThrough(), signals: new EventEmitter() };
    // A size line for every line of input: the test asks until it sees the size it expects, since the first resize
    // may land a moment after the command started.
    const script = 'while read l; do stty size; done';
    const code = runCommand(
      laneProgram(io, terminal),
      ['run', '--config', configFile, '--profile', 'claude', '--', 'sh', '-c', script],
      io,
    );
    const sizeShown = async (size: string) => {
      for (const deadline = Date.now() + 60_000; !out.includes(size); await sleep(250)) {
        if (Date.now() > deadline) throw new Error(`the command never showed the size ${size}:\n${out}`);
        stdin.write('size?\r');
      }
    };
    try {
      await sizeShown('30 100');
      Object.assign(stdout, { columns: 132, rows: 40 });
      stdout.emit('resize');
      await sizeShown('40 132');
    } finally {
      stdin.write('\x04'); // end of input on a tty: the loop's read fails and the command ends, whatever happened above
      expect(await code, out).toBe(0);
    }
  }, 120_000);

  it('runs the real claude CLI on a prompt from stdin, and its refreshed login reaches the host file', async () => {
    const refreshed = claudeLogin('sk-ant-oat01-lanerun4e1a', 'sk-ant-ort01-lanerun7c3d');
    model.script('anthropic', [
      {
        kind: 'tool',
        name: 'Bash',
        input: {
          command: `printf '%s' '${JSON.stringify(refreshed)}' > "$CLAUDE_CONFIG_DIR/.credentials.json"`,
          description: 'rotate',
        },
      },
      { kind: 'text', text: 'Lane run: claude answered.' },
    ]);
    const asked = model.requests.length;
    const run = laneRun(['--profile', 'claude'], ['claude', '--print', '--allowedTools', 'Bash'], 'Say who you are.');

    expect(await run.code, run.stderr()).toBe(0);
    expect(run.stdout()).toContain('Lane run: claude answered.');
    const prompt = JSON.stringify(model.requests.slice(asked).find((r) => r.api === 'anthropic')!.body);
    expect(prompt).toContain('Say who you are.');
    expect(JSON.parse(readFileSync(join(homes.claudeConfigDir, '.credentials.json'), 'utf8'))).toEqual(refreshed);
    expect(run.stderr()).toContain(`refreshed credential written back to ${homes.claudeConfigDir}/.credentials.json`);
  }, 180_000);

  it('runs the real codex CLI, which refreshes its login and runs a shell command; the host keeps the new tokens', async () => {
    model.script('openai', [
      { kind: 'tool', name: 'exec_command', input: { cmd: 'echo "codex-shell-$((2*21))"' } },
      { kind: 'text', text: 'Lane run: codex answered.' },
    ]);
    model.refreshedTokens = {
      ...model.refreshedTokens,
      access_token: 'codex-lanerun-access-2b9e',
      refresh_token: 'codex-lanerun-refresh-6f0d',
    };
    const asked = model.requests.length;
    const run = laneRun(
      ['--profile', 'codex'],
      ['codex', 'exec', '--json', '--skip-git-repo-check', '--sandbox', 'danger-full-access', '-'],
      'Run the probe.',
    );

    expect(await run.code, run.stderr()).toBe(0);
    expect(run.stdout()).toContain('Lane run: codex answered.');
    const sent = JSON.stringify(model.requests.slice(asked).map((r) => r.body));
    expect(sent).toContain('Run the probe.');
    expect(sent).toContain('codex-shell-42');
    expect(JSON.parse(readFileSync(join(homes.codexHome, 'auth.json'), 'utf8')).tokens).toMatchObject({
      access_token: 'codex-lanerun-access-2b9e',
      refresh_token: 'codex-lanerun-refresh-6f0d',
    });
  }, 180_000);

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`on ${signal} stops the command and removes its container, job folder and credential place`, async () => {
      const run = laneRun(['--profile', 'claude'], ['sleep', '300']);
      await waitFor('the lane container', async () => (await leftovers()).containers === 1, 60_000);
      expect((await leftovers()).holders).toHaveLength(1);
      run.kill(signal);
      expect(await run.code).toBe(signal === 'SIGTERM' ? 143 : 130);
    }, 120_000);
  }

  it('a lane run killed with SIGKILL is swept by the next one: its container removed, its credential written back and freed', async () => {
    const killed = laneRun(['--profile', 'claude'], ['sleep', '300']);
    await waitFor('the lane container', async () => (await leftovers()).containers === 1, 60_000);
    killed.kill('SIGKILL');
    await killed.code;
    expect((await leftovers()).holders).toHaveLength(1);

    const next = laneRun(['--profile', 'claude'], ['echo', 'next']);
    expect(await next.code, next.stderr()).toBe(0);
    expect(next.stdout()).toBe('next\n');
  }, 120_000);

  it('refuses, naming the holder, while a workflow job holds the credential, and waits for it with --wait', async () => {
    const runner = 'factory-aina-platform-77-abcdef';
    mkdirSync(jobDir(config, runner), { recursive: true });
    const lock = await lockCredential(config, config.profiles.claude!, { kind: 'job', name: runner });
    expect(lock).toMatchObject({ held: true });
    try {
      const refused = laneRun(['--profile', 'claude'], ['true']);
      expect(await refused.code).toBe(1);
      expect(refused.stderr()).toMatch(
        new RegExp(
          `credential auth:${homes.claudeConfigDir} is in use by workflow job runner ${runner}, for \\d+s: one job per credential .*pass --wait SECONDS`,
        ),
      );

      const waiting = laneRun(['--profile', 'claude', '--wait', '30'], ['echo', 'ran after the job']);
      await waitFor('the lane run to wait', () => waiting.stderr().includes('waiting up to 30s'), 30_000);
      await unlockCredential(config, (lock as { file: string }).file);
      rmSync(jobDir(config, runner), { recursive: true, force: true });
      expect(await waiting.code, waiting.stderr()).toBe(0);
      expect(waiting.stdout()).toBe('ran after the job\n');
    } finally {
      await unlockCredential(config, (lock as { file: string }).file);
      rmSync(jobDir(config, runner), { recursive: true, force: true });
    }
  }, 120_000);

  it("keeps a workflow job's release off the credential while a lane run (another process) holds it", async () => {
    const run = laneRun(['--profile', 'claude'], ['sleep', '300']);
    await waitFor('the lane container', async () => (await leftovers()).containers === 1, 60_000);
    const job = {
      profileName: 'claude',
      profile: config.profiles.claude!,
      name: 'factory-aina-platform-78-fedcba',
      kind: 'job' as const,
    };
    const refused = await holdCredential(config, job);
    expect(refused).toMatchObject({ held: false });
    expect((refused as { heldBy: string }).heldBy).toMatch(
      /in use by factory lane run lane-claude-[0-9a-f]{8} \(pid \d+\)/,
    );
    expect(existsSync(jobDir(config, job.name))).toBe(false);

    run.kill('SIGTERM');
    await run.code;
    expect(await holdCredential(config, job)).toEqual({ held: true });
    await finishJobFolder(config, job.name);
  }, 120_000);
});
