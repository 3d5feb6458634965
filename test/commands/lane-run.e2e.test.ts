// `factory lane run`, the built CLI as a separate process, on the real engine with the real factory/base: the real
// claude and codex CLIs answer through the loopback fake model, stdin reaches the command, its exit code comes back,
// a token refresh reaches the host file, a signal still cleans up, and the credential is one lock with workflow jobs.
// A brokered profile's run holds no real login: a root shell in it finds none, yet reaches the model and an MCP server
// through the run's own broker, whose refresh on the host takes the controller's lock; the broker dies with the run.
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
import { fakeIdToken, startFakeModelServer, type FakeModelServer } from '../support/fake-model-server.js';
import { startFakeLoginProvider, type FakeLoginProvider } from '../support/fake-login-provider.js';
import { startFakeHostedMcp, type FakeHostedMcp } from '../support/fake-hosted-mcp.js';
import { startFakeGhApi, type FakeGhApi } from '../support/fake-gh-api.js';
import { LoginRefresher } from '../../controller/broker/login-refresher.js';
import { MCP_BROKER_TOKEN_ENV } from '../../controller/lanes/mcp-render.js';
import { docker, waitFor } from '../support/harness.js';
import { claudeLogin, codexConfig, offlineCliEnv, writeLaneHomes, type LaneHomes } from '../support/lane-homes.js';
import { ensureLocalBase } from '../support/local-base.js';
import { setTimeout as sleep } from 'node:timers/promises';

const root = join(import.meta.dirname, '../..');
let image: string;
let model: FakeModelServer;
let dir: string;
let homes: LaneHomes;
let configFile: string;
let config: Config;
let provider: FakeLoginProvider;
let linear: FakeHostedMcp;
/** The brokered profiles' host tokens: no container of theirs may ever hold one. */
const HOST = {
  access: 'sk-ant-oat01-lanerunbrokerhost',
  mcp: 'lin_api_lanerunbrokerhost',
  codexAccess: 'codex-at-lanerunbrokerhost',
  codexRefresh: 'codex-rt-lanerunbrokerhost',
  gh: 'gho_lanerunbrokerhostGhToken0123456789',
};
let ghApi: FakeGhApi;
let brokeredLogin: string;
let brokeredCodex: string;

beforeAll(async () => {
  image = await ensureLocalBase();
  model = await startFakeModelServer();
  dir = mkdtempSync(join(tmpdir(), 'factory-lane-run-'));
  chmodSync(dir, 0o755);
  homes = writeLaneHomes(join(dir, 'host'), model.url);
  provider = await startFakeLoginProvider();
  linear = await startFakeHostedMcp('linear', HOST.mcp);
  ghApi = await startFakeGhApi('octocat');
  // The host's gh login, in the folder the brokered run's gh mount names: the run's gh gets a placeholder.
  const brokeredGh = join(dir, 'host', 'brokered-gh');
  mkdirSync(brokeredGh, { recursive: true });
  writeFileSync(join(brokeredGh, 'hosts.yml'), `github.com:\n  oauth_token: ${HOST.gh}\n  user: octocat\n`, {
    mode: 0o600,
  });
  brokeredLogin = join(dir, 'host', 'brokered-claude');
  mkdirSync(brokeredLogin);
  // The host's codex login as `codex login` leaves it, and its own config (no provider of its own: the broker's).
  brokeredCodex = join(dir, 'host', 'brokered-codex');
  mkdirSync(brokeredCodex);
  const codexAuth = {
    OPENAI_API_KEY: null,
    tokens: {
      id_token: fakeIdToken(),
      access_token: HOST.codexAccess,
      refresh_token: HOST.codexRefresh,
      account_id: 'acct-fake',
    },
    last_refresh: new Date().toISOString(),
  };
  writeFileSync(join(brokeredCodex, 'auth.json'), JSON.stringify(codexAuth), { mode: 0o600 });
  const hostToml = codexConfig('http://unused').split('\n[model_providers.fake]')[0]!;
  writeFileSync(join(brokeredCodex, 'config.toml'), hostToml.replace('model_provider = "fake"\n', ''));
  const brokeredEnv = join(dir, 'host', 'brokered.env');
  writeFileSync(brokeredEnv, `LINEAR_API_KEY=${HOST.mcp}\nDEPLOY_HOOK=kept-value\n`, { mode: 0o600 });
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
      // Root in the container, as a prompt-injected agent with every privilege of it would be.
      brokered: {
        ...lane('claude', [
          { kind: 'auth', agent: 'claude', source: brokeredLogin },
          { kind: 'gh', source: join(dir, 'host', 'brokered-gh') },
        ]),
        env: {},
        auth: 'broker',
        user: '0:0',
        models: ['claude-sonnet-*'],
        envFiles: [brokeredEnv],
        mcp: [{ name: 'linear', url: linear.url, tokenEnv: 'LINEAR_API_KEY' }],
      },
      // The real codex CLI through the run's broker; the CLI's other traffic into the fake model's proxy trap.
      'brokered-codex': {
        ...lane('codex', [{ kind: 'auth', agent: 'codex', source: brokeredCodex }]),
        env: (({ ANTHROPIC_BASE_URL: _a, CODEX_REFRESH_TOKEN_URL_OVERRIDE: _r, ...rest }) => rest)(
          offlineCliEnv(model.url),
        ),
        auth: 'broker',
        models: ['fake-codex-model'],
      },
      // The same behind egress that lets nothing out: the broker is reached through the gateway's relay alone.
      fenced: {
        ...lane('claude', [{ kind: 'auth', agent: 'claude', source: brokeredLogin }]),
        env: {},
        auth: 'broker',
        network: 'bridge',
        egress: { allow: [] },
        models: ['claude-sonnet-*'],
        envFiles: [brokeredEnv],
        mcp: [{ name: 'linear', url: linear.url, tokenEnv: 'LINEAR_API_KEY' }],
      },
    },
    broker: {
      anthropicUrl: model.url,
      openaiUrl: `${model.url}/v1`,
      chatgptUrl: `${model.url}/v1`,
      claudeTokenUrl: `${provider.url}/claude/v1/oauth/token`,
      codexTokenUrl: `${provider.url}/codex/oauth/token`,
      githubApiUrl: ghApi.url,
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
  await provider?.close();
  await linear?.close();
  await ghApi?.close();
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

// As root in the brokered run: everything a prompt-injected agent could look at, then the model and the MCP server
// through the broker with what it found, and a forged login written where a copy would be written back from.
const LOOK = [
  'env',
  'echo ==proc',
  'for p in /proc/[0-9]*; do tr "\\0" "\\n" < $p/environ; tr "\\0" " " < $p/cmdline; echo; done 2>/dev/null',
  'echo ==files',
  'cat /factory/auth/claude/* /factory/release/env.json /factory/mcp/* 2>/dev/null',
  'echo ==grep',
  // Every file the host gave the run, in whatever it mounted (the image's own files hold nothing of the host): the
  // host's values all carry one mark, the provider's refresh tokens start claude-rt-.
  'grep -rl -e lanerunbrokerhost -e claude-rt- $(awk \'$2 !~ "^/(proc|sys|dev)?($|/)" {print $2}\' /proc/self/mounts) 2>/dev/null',
  'echo ==model',
  'PH=$(sed -n \'s/.*"accessToken":"\\([^"]*\\)".*/\\1/p\' "$CLAUDE_CONFIG_DIR/.credentials.json")',
  'curl -sS -H "Authorization: Bearer $PH" -H "content-type: application/json" -d \'{"model":"claude-sonnet-4-5","max_tokens":8,"messages":[]}\' "$ANTHROPIC_BASE_URL/v1/messages"',
  'echo; echo ==refused',
  'curl -sS -o /dev/null -w "%{http_code}" -H "Authorization: Bearer $PH" -H "content-type: application/json" -d \'{"model":"claude-opus-4-1","max_tokens":8,"messages":[]}\' "$ANTHROPIC_BASE_URL/v1/messages"',
  'echo; echo ==mcp',
  'MURL=$(sed -n \'s/.*"url": "\\([^"]*\\/mcp\\/linear\\)".*/\\1/p\' "$FACTORY_MCP_CLAUDE")',
  `curl -sS -H "Authorization: Bearer $${MCP_BROKER_TOKEN_ENV}" -H "content-type: application/json" -H "accept: application/json, text/event-stream" -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-03-26","capabilities":{},"clientInfo":{"name":"sh","version":"1"}}}' "$MURL"`,
  'echo; echo ==gh',
  // The real gh, through the run's broker on the socket in its gh folder: the placeholder is all it holds.
  'gh api /user --jq .login; gh auth token',
  'echo; echo "==broker $ANTHROPIC_BASE_URL $PH"',
  `printf '%s' '{"claudeAiOauth":{"accessToken":"sk-ant-oat01-forged","refreshToken":"sk-ant-ort01-forged","expiresAt":9999999999999,"scopes":["user:inference"]}}' > "$CLAUDE_CONFIG_DIR/.credentials.json"`,
].join('\n');

/** One section of the shell's output: after the last marker line (the script's own text, in /proc, names each too). */
const section = (out: string, name: string) => out.split(`\n==${name}\n`).at(-1)!.split(/^==/m)[0]!;

describe('factory lane run with auth: broker', () => {
  it('holds no real login, reaches the model and the MCP server through its own broker, which dies with it', async () => {
    const refresh = provider.issue('claude', 'acct-lanerun');
    const hostFile = join(brokeredLogin, '.credentials.json');
    writeFileSync(hostFile, JSON.stringify(claudeLogin(HOST.access, refresh, 24 * 3600_000)), { mode: 0o600 });
    const before = readFileSync(hostFile, 'utf8');
    const asked = model.requests.length;
    const run = laneRun(['--profile', 'brokered'], ['sh', '-c', LOOK]);
    expect(await run.code, run.stderr()).toBe(0);
    const out = run.stdout();
    for (const secret of [HOST.access, refresh, HOST.mcp, HOST.gh])
      expect(out, `the run saw ${secret}`).not.toContain(secret);
    expect(section(out, 'grep').trim()).toBe('');
    expect(out).toMatch(/^ANTHROPIC_BASE_URL=http:\/\/127\.0\.0\.1:\d+$/m);
    expect(out).toContain('kept-value');
    // The model answered through the broker, which sent the host's token in place of the placeholder.
    expect(JSON.parse(section(out, 'model')).type).toBe('message');
    expect(model.requests.slice(asked).map((r) => r.authorization)).toEqual([`Bearer ${HOST.access}`]);
    // A model outside the profile's list is refused at the broker, before the provider hears of it.
    expect(section(out, 'refused').trim()).toBe('403');
    expect(section(out, 'mcp')).toContain('"serverInfo"');
    expect(new Set(linear.authorizations)).toEqual(new Set([`Bearer ${HOST.mcp}`]));
    // gh reached the API through the broker, which sent the host's gh token; the run's gh holds a placeholder.
    expect(section(out, 'gh')).toMatch(/^octocat\nfactory-broker-\S+\n/);
    expect(ghApi.requests.map((r) => r.authorization)).toEqual([`token ${HOST.gh}`]);
    // Nothing written back: the forged login stayed in the run, the host file is byte for byte as it was.
    expect(readFileSync(hostFile, 'utf8')).toBe(before);
    expect(run.stderr()).not.toContain('written back');
    // The run ended: its broker is closed, so the placeholder taken out of it reaches nothing.
    const [, url, placeholder] = /^==broker (\S+) (factory-broker-\S+)$/m.exec(out)!;
    await expect(
      fetch(`${url}/v1/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${placeholder}` },
        body: '{"model":"claude-sonnet-4-5"}',
      }),
    ).rejects.toThrow();
  }, 180_000);

  it("refreshes an expiring login on the host under the controller's lock: one redemption beside a controller", async () => {
    const refresh = provider.issue('claude', 'acct-lanerun');
    const hostFile = join(brokeredLogin, '.credentials.json');
    writeFileSync(hostFile, JSON.stringify(claudeLogin(HOST.access, refresh, 60_000)), { mode: 0o600 });
    const redeemed = provider.requests.length;
    // A controller's refresher on the same login, in this process: it takes the host file's lock and is held inside
    // its redemption until the lane run's request waits at its own broker.
    let open: () => void = () => {};
    const gate = new Promise<void>((r) => (open = r));
    const controller = new LoginRefresher(
      { agent: 'claude', source: brokeredLogin },
      { claude: `${provider.url}/claude/v1/oauth/token`, codex: '' },
      { fetch: async (...args) => (await gate, fetch(...args)) },
    );
    const controllerLogin = controller.current();
    await waitFor('the controller to hold the lock', () => existsSync(`${hostFile}.lock`));
    const asked = model.requests.length;
    const run = laneRun(
      ['--profile', 'brokered'],
      [
        'sh',
        '-c',
        'echo asking; curl -sS -H "content-type: application/json" -H "Authorization: Bearer $(sed -n \'s/.*"accessToken":"\\([^"]*\\)".*/\\1/p\' "$CLAUDE_CONFIG_DIR/.credentials.json")" -d \'{"model":"claude-sonnet-4-5","max_tokens":8,"messages":[]}\' "$ANTHROPIC_BASE_URL/v1/messages"',
      ],
    );
    await waitFor('the request to be on its way', () => run.stdout().includes('asking'), 60_000);
    // Time for the run's broker to reach the lock the controller holds (nothing outside shows it waiting). Were it
    // slower, it would read the refreshed file after the lock: the assertions hold either way, and never flake.
    await sleep(500);
    open();
    expect(await run.code, run.stderr()).toBe(0);
    const refreshed = (await controllerLogin).secret;
    expect(refreshed).not.toBe(HOST.access);
    expect(provider.requests.length - redeemed).toBe(1);
    expect(model.requests.slice(asked).map((r) => r.authorization)).toEqual([`Bearer ${refreshed}`]);
    expect(JSON.parse(readFileSync(hostFile, 'utf8')).claudeAiOauth.accessToken).toBe(refreshed);
  }, 180_000);

  it("behind egress reaches the model and the MCP server through its gateway's broker port", async () => {
    const hostFile = join(brokeredLogin, '.credentials.json');
    writeFileSync(hostFile, JSON.stringify(claudeLogin(HOST.access, 'sk-ant-ort01-unused', 24 * 3600_000)));
    const asked = model.requests.length;
    const before = linear.authorizations.length;
    const script = [
      'echo "at $ANTHROPIC_BASE_URL"',
      'PH=$(sed -n \'s/.*"accessToken":"\\([^"]*\\)".*/\\1/p\' "$CLAUDE_CONFIG_DIR/.credentials.json")',
      'curl -sS -o /dev/null -w "model:%{http_code}\\n" -H "Authorization: Bearer $PH" -H "content-type: application/json" -d \'{"model":"claude-sonnet-4-5","max_tokens":8,"messages":[]}\' "$ANTHROPIC_BASE_URL/v1/messages"',
      'MURL=$(sed -n \'s/.*"url": "\\([^"]*\\/mcp\\/linear\\)".*/\\1/p\' "$FACTORY_MCP_CLAUDE")',
      `curl -sS -o /dev/null -w "mcp:%{http_code} $MURL\\n" -H "Authorization: Bearer $${MCP_BROKER_TOKEN_ENV}" -H "content-type: application/json" -H "accept: application/json, text/event-stream" -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-03-26","capabilities":{},"clientInfo":{"name":"sh","version":"1"}}}' "$MURL"`,
    ].join('\n');
    const run = laneRun(['--profile', 'fenced'], ['sh', '-c', script]);

    expect(await run.code, run.stderr()).toBe(0);
    const [, gateway] = /^at http:\/\/([\d.]+):3129$/m.exec(run.stdout()) ?? [];
    expect(gateway, run.stdout()).toBeDefined();
    expect(run.stdout()).toContain('model:200\n');
    expect(run.stdout()).toContain(`mcp:200 http://${gateway}:3129/mcp/linear\n`);
    expect(model.requests.slice(asked).map((r) => r.authorization)).toEqual([`Bearer ${HOST.access}`]);
    expect(new Set(linear.authorizations.slice(before))).toEqual(new Set([`Bearer ${HOST.mcp}`]));
  }, 180_000);

  it('runs the real codex CLI on a placeholder: the model gets the host token, the host login stays as it was', async () => {
    const before = readFileSync(join(brokeredCodex, 'auth.json'), 'utf8');
    model.script('openai', [
      { kind: 'tool', name: 'exec_command', input: { cmd: 'cat "$CODEX_HOME/auth.json"' } },
      { kind: 'text', text: 'Brokered lane run: codex answered.' },
    ]);
    const asked = model.requests.length;
    const run = laneRun(
      ['--profile', 'brokered-codex'],
      ['codex', 'exec', '--json', '--skip-git-repo-check', '--sandbox', 'danger-full-access', '-'],
      'Run the probe.',
    );

    expect(await run.code, run.stderr()).toBe(0);
    expect(run.stdout()).toContain('Brokered lane run: codex answered.');
    const mine = model.requests.slice(asked);
    expect(mine.filter((r) => r.api === 'openai').length).toBeGreaterThan(1);
    for (const r of mine.filter((r) => r.api === 'openai')) expect(r.authorization).toBe(`Bearer ${HOST.codexAccess}`);
    // The shell's view of its login went to the model: a placeholder, not the host's tokens; no refresh was tried.
    const sent = JSON.stringify(mine.map((r) => r.body));
    expect(sent).toContain('factory-broker-');
    for (const secret of [HOST.codexAccess, HOST.codexRefresh]) expect(sent).not.toContain(secret);
    expect(mine.filter((r) => r.api === 'oauth')).toEqual([]);
    expect(readFileSync(join(brokeredCodex, 'auth.json'), 'utf8')).toBe(before);
  }, 180_000);

  it('on SIGTERM closes its broker with the container', async () => {
    const hostFile = join(brokeredLogin, '.credentials.json');
    writeFileSync(hostFile, JSON.stringify(claudeLogin(HOST.access, 'sk-ant-ort01-unused', 24 * 3600_000)));
    const run = laneRun(['--profile', 'brokered'], ['sh', '-c', 'echo "at $ANTHROPIC_BASE_URL"; exec sleep 300']);
    await waitFor('the lane container', () => /at http:\/\/127\.0\.0\.1:\d+/.test(run.stdout()), 60_000);
    const url = /at (\S+)/.exec(run.stdout())![1]!;
    expect((await fetch(`${url}/v1/messages`, { method: 'POST' })).status).toBe(401);
    run.kill('SIGTERM');
    expect(await run.code).toBe(143);
    await expect(fetch(`${url}/v1/messages`, { method: 'POST' })).rejects.toThrow();
  }, 120_000);
});
