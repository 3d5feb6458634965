// `factory doctor --agent`: one real claude turn in the lane's container, from the real factory/base, through the
// loopback fake model; the row says whether it answered, how long it took and which MCP servers the agent had. A
// brokered profile's turn is brokered: placeholders in the container, the host's tokens added by a broker of its own.
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../controller/commands/command-line.js';
import { doctorProgram } from '../../controller/commands/doctor-command.js';
import { agentCanaryCommand, parseAgentCanary } from '../../controller/commands/doctor-agent.js';
import { parseConfig, profileSchema } from '../../controller/config/config.js';
import { credentialHolders, lockCredential, unlockCredential } from '../../controller/lanes/credential-lock.js';
import { jobDir } from '../../controller/lanes/lane-layout.js';
import { GitHubStandin } from '../../controller/github/standin/github-standin.js';
import { startFakeModelServer, type FakeModelServer } from '../support/fake-model-server.js';
import { startFakeHostedMcp } from '../support/fake-hosted-mcp.js';
import { offlineCliEnv, writeLaneHomes, type LaneHomes } from '../support/lane-homes.js';
import { ensureLocalBase } from '../support/local-base.js';

const root = join(import.meta.dirname, '../..');
let dir: string;
let image: string;
let model: FakeModelServer;
let github: GitHubStandin;

beforeAll(async () => {
  image = await ensureLocalBase();
  model = await startFakeModelServer();
  github = new GitHubStandin();
  await github.start();
  dir = mkdtempSync(join(tmpdir(), 'factory-doctor-agent-'));
  chmodSync(dir, 0o755);
  cpSync(join(root, 'test/fixtures/pkm-agent'), join(dir, 'pkm-agent'), { recursive: true });
}, 30 * 60_000);

afterAll(async () => {
  await model?.close();
  await github?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function doctor(
  mcp: unknown[],
  opts: { jobHolds?: boolean; brokered?: { envFile: string; egress?: boolean } } = {},
): Promise<{ code: number; out: string; homes: LaneHomes }> {
  const homes = writeLaneHomes(join(dir, `host-${Date.now()}`), model.url);
  // A brokered profile's CLI is pointed at its broker, which forwards to the fake model.
  const { ANTHROPIC_BASE_URL: _direct, ...offline } = offlineCliEnv(model.url);
  const brokered = opts.brokered && {
    auth: 'broker',
    envFiles: [opts.brokered.envFile],
    env: offline,
    // Egress that lets nothing out: the broker is reached through the turn's gateway relay alone.
    ...(opts.brokered.egress ? { network: 'bridge', egress: { allow: [] } } : {}),
  };
  const config = {
    github: { apiUrl: github.url, auth: { tokenEnv: 'GH_TOKEN' }, webhook: { secret: { env: 'S' } } },
    stateDir: join(dir, 'state'),
    broker: { anthropicUrl: model.url, openaiUrl: `${model.url}/v1`, chatgptUrl: `${model.url}/v1` },
    profiles: {
      claude: {
        labels: ['self-hosted', 'factory', 'claude'],
        image,
        trusted: true,
        lane: 'claude',
        network: 'host',
        memory: '2g',
        env: offlineCliEnv(model.url),
        ...brokered,
        mounts: [
          { kind: 'auth', agent: 'claude', source: homes.claudeConfigDir, claudeJson: homes.claudeJson },
          { kind: 'data', source: join(dir, 'pkm-agent'), target: '/data/pkm-agent' },
        ],
        mcp,
      },
    },
    repos: [{ repo: 'ainative-academy/aina-platform', profiles: ['claude'] }],
  };
  writeFileSync(join(dir, 'factory.yml'), stringify(config));
  const parsed = parseConfig(stringify(config));
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  // A workflow job of the same credential, as the controller's launcher holds it.
  const runner = 'factory-aina-platform-9-abcdef';
  if (opts.jobHolds) mkdirSync(jobDir(parsed.config, runner), { recursive: true });
  const lock = opts.jobHolds
    ? await lockCredential(parsed.config, parsed.config.profiles.claude!, { kind: 'job', name: runner })
    : undefined;
  let out = '';
  try {
    const io = { stdout: (s: string) => void (out += `${s}\n`), stderr: (s: string) => void (out += `${s}\n`) };
    const code = await runCommand(
      doctorProgram(io, { GH_TOKEN: 'ghs_doctoragent' }),
      ['--config', join(dir, 'factory.yml'), '--profile', 'claude', '--agent'],
      io,
    );
    // The canary's job folder and its place on the credential are gone.
    expect(readdirSync(join(parsed.config.stateDir, 'jobs')).filter((d) => d !== runner)).toEqual([]);
    expect((await credentialHolders(parsed.config)).map((h) => h.holder.name)).toEqual(opts.jobHolds ? [runner] : []);
    return { code, out, homes };
  } finally {
    if (lock?.held) await unlockCredential(parsed.config, lock.file);
  }
}

const pkmAgent = { name: 'pkm-agent', command: 'uv', args: ['--directory', '/data/pkm-agent', 'run', 'server.py'] };

describe('factory doctor --agent', () => {
  it('runs one claude turn in the lane container and lists the MCP servers the agent had', async () => {
    model.script('anthropic', [{ kind: 'text', text: 'OK' }]);
    const { out } = await doctor([pkmAgent]);
    expect(out).toMatch(/✓ claude +agent claude turn +answered in \d+ ms; MCP servers: pkm-agent\n/);
    const prompt = JSON.stringify(model.requests.filter((r) => r.api === 'anthropic').at(-1)!.body);
    expect(prompt).toContain('Reply with the single word OK.');
  }, 300_000);

  it('fails the row, with the fix, when an MCP server of the lane does not start', async () => {
    model.script('anthropic', [{ kind: 'text', text: 'OK' }]);
    const { code, out } = await doctor([pkmAgent, { name: 'missing', command: 'no-such-mcp-server' }]);
    expect(code).toBe(1);
    expect(out).toMatch(
      /✗ claude +agent claude turn +MCP servers not connected: missing after \d+ ms; MCP servers: pkm-agent, missing \(failed\)\n +fix: /,
    );
  }, 300_000);

  it("runs no turn while a workflow job holds the lane's credential, and names the job", async () => {
    const asked = model.requests.length;
    const { code, out } = await doctor([], { jobHolds: true });
    expect(code).toBe(1);
    expect(out).toMatch(
      /✗ claude +agent claude turn +credential auth:\S+ is in use by workflow job runner factory-aina-platform-9-abcdef, for \d+s\n +fix: /,
    );
    expect(model.requests.slice(asked).filter((r) => r.api === 'anthropic')).toEqual([]);
  }, 300_000);

  it("brokers a brokered profile's turn: the model and the MCP server get the host's tokens from its broker, nothing comes back", async () => {
    const token = 'lin_api_doctorhost';
    const linear = await startFakeHostedMcp('linear', token);
    const envFile = join(dir, 'brokered.env');
    writeFileSync(envFile, `LINEAR_API_KEY=${token}\n`, { mode: 0o600 });
    model.script('anthropic', [{ kind: 'text', text: 'OK' }]);
    const asked = model.requests.length;
    try {
      const { out, homes } = await doctor([{ name: 'linear', url: linear.url, tokenEnv: 'LINEAR_API_KEY' }], {
        brokered: { envFile },
      });
      expect(out).toMatch(/✓ claude +agent claude turn +answered in \d+ ms; MCP servers: linear\n/);
      const sent = model.requests.slice(asked).filter((r) => r.api === 'anthropic');
      expect(sent.length).toBeGreaterThan(0);
      // writeLaneHomes' claude access token: only the broker had it to send.
      expect(new Set(sent.map((r) => r.authorization))).toEqual(new Set([`Bearer ${homes.secrets[2]}`]));
      // The doctor's reachability check asks with no token at all (''); the turn's client only through the broker.
      expect(new Set(linear.authorizations.filter(Boolean))).toEqual(new Set([`Bearer ${token}`]));
      // Nothing came back to the host: its login is as writeLaneHomes left it.
      expect(readFileSync(join(homes.claudeConfigDir, '.credentials.json'), 'utf8')).toContain(homes.secrets[2]);
    } finally {
      await linear.close();
    }
  }, 300_000);

  it("brokers a brokered profile's turn behind egress through its own gateway's broker port", async () => {
    const envFile = join(dir, 'brokered.env');
    writeFileSync(envFile, 'UNUSED=1\n', { mode: 0o600 });
    model.script('anthropic', [{ kind: 'text', text: 'OK' }]);
    const asked = model.requests.length;
    const { out, homes } = await doctor([], { brokered: { envFile, egress: true } });
    expect(out).toMatch(/✓ claude +agent claude turn +answered in \d+ ms; no MCP servers\n/);
    const sent = model.requests.slice(asked).filter((r) => r.api === 'anthropic');
    expect(sent.length).toBeGreaterThan(0);
    expect(new Set(sent.map((r) => r.authorization))).toEqual(new Set([`Bearer ${homes.secrets[2]}`]));
  }, 300_000);

  it('fails the row when the model refuses the login', async () => {
    // Claude retries a refused login after trying to refresh it: every answer refuses.
    const refused = {
      kind: 'error' as const,
      status: 401,
      body: { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } },
    };
    model.script(
      'anthropic',
      Array.from({ length: 12 }, () => refused),
    );
    const { code, out } = await doctor([]);
    expect(code).toBe(1);
    expect(out).toMatch(/✗ claude +agent claude turn +no successful answer \(exit [1-9]\d*/);
  }, 300_000);
});

describe('the canary command and its reading', () => {
  const profile = (lane: 'codex' | 'claude' | undefined, mcp: unknown[] = []) =>
    profileSchema.parse({ labels: ['x'], image: 'i', lane, mcp });

  it('passes the fixed prompt on stdin, the lane MCP config to claude, and nothing for a non-lane profile', () => {
    expect(agentCanaryCommand(profile('claude', [pkmAgent]))!.script).toMatch(
      /\| claude --print --output-format stream-json --verbose --mcp-config \/factory\/mcp\/claude\.json$/,
    );
    expect(agentCanaryCommand(profile('codex'))!.env).toEqual({ CODEX_HOME: '/factory/auth/codex' });
    expect(agentCanaryCommand(profile(undefined))).toBeUndefined();
  });

  it('reads a codex turn from its JSON events', () => {
    expect(
      parseAgentCanary('codex', '{"type":"thread.started"}\n{"type":"turn.completed","usage":{}}\n', 0, 1200),
    ).toEqual({ name: 'agent codex turn', ok: true, detail: 'answered in 1200 ms' });
    expect(
      parseAgentCanary('codex', '{"type":"turn.failed","error":{"message":"unexpected status 401"}}\n', 1, 900),
    ).toMatchObject({ ok: false, detail: 'no successful answer (exit 1: unexpected status 401) after 900 ms' });
  });
});
