// The real claude and codex CLIs read a brokered lane's rendered MCP entries and reach the servers through the job's
// broker, holding only the placeholder: the hosted servers (loopback stand-ins) see the host's token, or, for a
// `credential: oauth` server, the host claude's login for it, which the job's credentials do not hold. `claude mcp
// list` connects to each user-scope server to report its health, so it is the CLI's own client that is checked, not
// the SDK's; `codex mcp list` does not connect, so codex runs a turn against the fake model whose answer calls the
// server's tool, and the tool's result has to come back in codex's next request.
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoginRefreshers } from '../../controller/broker/login-refresher.js';
import { McpLoginRefreshers } from '../../controller/broker/mcp-login-refresher.js';
import { startModelBroker, type ModelBroker } from '../../controller/broker/model-broker.js';
import {
  BROKER_URL_MARK,
  claudeMcpOAuthKey,
  MCP_BROKER_TOKEN_ENV,
  renderClaudeMcp,
  renderCodexMcp,
  type BrokeredMcp,
} from '../../controller/lanes/mcp-render.js';
import { startFakeHostedMcp, type FakeHostedMcp } from '../support/fake-hosted-mcp.js';
import { startFakeModelServer, type FakeModelServer } from '../support/fake-model-server.js';
import { hostMcpOAuth, startFakeOAuthMcp, type FakeOAuthMcp } from '../support/fake-oauth-mcp.js';
import { claudeLogin, codexConfig } from '../support/lane-homes.js';

const REAL = 'lin_api_host-only-value';
const run = promisify(execFile);
let root: string;
let linear: FakeHostedMcp;
let sentry: FakeOAuthMcp;
let broker: ModelBroker;
const hostCredentials = () => join(root, 'host', '.credentials.json');
const sentryLogin = () =>
  JSON.parse(readFileSync(hostCredentials(), 'utf8')).mcpOAuth[claudeMcpOAuthKey('sentry', sentry.url)];
let model: FakeModelServer;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'factory-mcp-broker-cli-'));
  writeFileSync(join(root, 'lane.env'), `LINEAR_API_KEY=${REAL}\n`);
  linear = await startFakeHostedMcp('linear', REAL);
  model = await startFakeModelServer();
  sentry = await startFakeOAuthMcp({ name: 'sentry', now: Date.now });
  // The host's claude is logged in to sentry (`/mcp`), and its token has expired: the broker refreshes it first.
  const login = sentry.login();
  mkdirSync(join(root, 'host'));
  writeFileSync(
    hostCredentials(),
    JSON.stringify({
      ...claudeLogin('sk-ant-oat01-host', 'sk-ant-ort01-host'),
      mcpOAuth: hostMcpOAuth('sentry', sentry, login, Date.now() - 1000),
    }),
    { mode: 0o600 },
  );
  const servers: BrokeredMcp[] = [
    { name: 'linear', url: linear.url, credential: 'token', tokenEnv: 'LINEAR_API_KEY' },
    { name: 'sentry', url: sentry.url, credential: 'oauth' },
  ];
  broker = await startModelBroker(
    {
      runnerName: 'cli',
      logins: new Map(),
      models: [],
      mcp: { servers, envFiles: [join(root, 'lane.env')], claudeCredentials: hostCredentials() },
    },
    {
      refreshers: new LoginRefreshers({ claude: '', codex: '' }),
      mcpLogins: new McpLoginRefreshers(),
      upstreams: {
        anthropicUrl: 'http://127.0.0.1:9',
        openaiUrl: 'http://127.0.0.1:9',
        chatgptUrl: 'http://127.0.0.1:9',
      },
    },
  );
  // The job's user-scope config holds the rendered entries, the broker's address written in as the launch does.
  const rendered = JSON.parse(
    renderClaudeMcp(servers, true).replaceAll(BROKER_URL_MARK, `http://127.0.0.1:${broker.port}`),
  );
  mkdirSync(join(root, 'home', '.claude'), { recursive: true });
  writeFileSync(join(root, 'home', '.claude', '.claude.json'), JSON.stringify(rendered));
  // The job's credentials as the release writes them: the placeholder login, no mcpOAuth.
  writeFileSync(
    join(root, 'home', '.claude', '.credentials.json'),
    JSON.stringify(claudeLogin(broker.token, 'factory-broker-no-refresh')),
    { mode: 0o600 },
  );
  // codex's home as the lane gives it: the host's config (here the fake model as its provider, reached directly with
  // a key of its own) with the rendered codex.toml appended, as the lane action appends it (addCodexMcp).
  mkdirSync(join(root, 'home', '.codex'));
  const entries = renderCodexMcp(servers, true).replaceAll(BROKER_URL_MARK, `http://127.0.0.1:${broker.port}`);
  writeFileSync(join(root, 'home', '.codex', 'config.toml'), `${codexConfig(model.url)}\n${entries}`);
  writeFileSync(join(root, 'home', '.codex', 'auth.json'), JSON.stringify({ OPENAI_API_KEY: 'sk-fake-model-only' }));
});
afterAll(async () => {
  await broker.close();
  await linear.close();
  await sentry.close();
  await model.close();
  rmSync(root, { recursive: true, force: true });
});

const claudeMcpList = (placeholder: string) => {
  const home = join(root, 'home');
  const env: Record<string, string | undefined> = {
    ...process.env,
    HOME: home,
    CLAUDE_CONFIG_DIR: join(home, '.claude'),
  };
  delete env.LINEAR_API_KEY;
  env[MCP_BROKER_TOKEN_ENV] = placeholder;
  return run(join(process.cwd(), 'node_modules/.bin/claude'), ['mcp', 'list'], { cwd: home, env, timeout: 60_000 });
};

describe("the real claude CLI and a brokered lane's MCP entry", () => {
  it('connects through the broker with the placeholder; the server sees the host token', async () => {
    const before = linear.authorizations.length;
    const { stdout } = await claudeMcpList(broker.token);
    expect(stdout).toMatch(
      new RegExp(`^linear: http://127\\.0\\.0\\.1:${broker.port}/mcp/linear \\(HTTP\\) - ✔ Connected`, 'm'),
    );
    const seen = linear.authorizations.slice(before);
    expect(seen.length).toBeGreaterThan(0);
    expect(new Set(seen)).toEqual(new Set([`Bearer ${REAL}`]));
  }, 90_000);

  it("connects to an oauth server with credentials that hold no login for it: the broker sends the host's, refreshed", async () => {
    const { stdout } = await claudeMcpList(broker.token);
    expect(stdout).toMatch(
      new RegExp(`^sentry: http://127\\.0\\.0\\.1:${broker.port}/mcp/sentry \\(HTTP\\) - ✔ Connected`, 'm'),
    );
    expect(sentry.refreshes).toBe(1);
    expect(new Set(sentry.authorizations)).toEqual(new Set([`Bearer ${sentryLogin().accessToken}`]));
    expect(readFileSync(join(root, 'home', '.claude', '.credentials.json'), 'utf8')).not.toContain('mcpOAuth');
  }, 90_000);

  it('fails to connect with another placeholder, and nothing reaches either server', async () => {
    const before = [linear.authorizations.length, sentry.authorizations.length];
    const { stdout } = await claudeMcpList('factory-broker-made-up');
    expect(stdout).toMatch(/^linear: .* - ✘ Failed to connect/m);
    expect(stdout).toMatch(/^sentry: .* - ✘ Failed to connect/m);
    expect([linear.authorizations.length, sentry.authorizations.length]).toEqual(before);
  }, 90_000);
});

/** One codex turn in the lane's home, with the sandbox the lane gives it in a container; resolves with its events. */
const codexTurn = (placeholder: string) =>
  new Promise<string>((resolve, reject) => {
    const home = join(root, 'home');
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: home,
      CODEX_HOME: join(home, '.codex'),
      [MCP_BROKER_TOKEN_ENV]: placeholder,
      // Anything else codex tries goes to the fake model's proxy trap, never out.
      HTTPS_PROXY: model.url,
      HTTP_PROXY: model.url,
      NO_PROXY: '127.0.0.1,localhost',
    };
    const args = ['exec', '--json', '--skip-git-repo-check', '--sandbox', 'danger-full-access', 'Who am I on Linear?'];
    const child = spawn(join(process.cwd(), 'node_modules/.bin/codex'), args, {
      cwd: home,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`codex exited ${code}: ${err}`))));
  });

/** The model's answer to the first request: a call of the server's tool, in the namespace codex lists it under. */
const callWhoami = () =>
  model.script('openai', [
    { kind: 'tool', namespace: 'mcp__linear', name: 'whoami', input: {} },
    { kind: 'text', text: 'You are the host.' },
  ]);

describe("the real codex CLI and a brokered lane's MCP entry", () => {
  it("calls the server's tool through the broker with the placeholder; the result reaches the model", async () => {
    const before = linear.authorizations.length;
    const sentryBefore = sentry.authorizations.length;
    const asked = model.requests.length;
    callWhoami();
    const events = await codexTurn(broker.token);

    expect(events).toContain('"type":"mcp_tool_call","server":"linear","tool":"whoami"');
    const next = model.requests.slice(asked).filter((r) => r.api === 'openai')[1];
    const output = (next?.body as { input: Array<{ type: string; output?: unknown }> }).input.find(
      (i) => i.type === 'function_call_output',
    );
    expect(JSON.stringify(output?.output)).toContain("linear account: the host's own");
    // The server saw the host's token on every request, never the placeholder; codex's home holds neither.
    const seen = linear.authorizations.slice(before);
    expect(seen.length).toBeGreaterThan(0);
    expect(new Set(seen)).toEqual(new Set([`Bearer ${REAL}`]));
    // codex reached the oauth server too, through the broker, with the host claude's login for it.
    expect(sentry.authorizations.length).toBeGreaterThan(sentryBefore);
    expect(new Set(sentry.authorizations)).toEqual(new Set([`Bearer ${sentryLogin().accessToken}`]));
    for (const name of readdirSync(join(root, 'home', '.codex')).filter(
      (n) => n.endsWith('.toml') || n.endsWith('.json'),
    ))
      expect(readFileSync(join(root, 'home', '.codex', name), 'utf8')).not.toContain(REAL);
  }, 90_000);

  it('reaches nothing with another placeholder: the server is never asked and no result comes back', async () => {
    const before = [linear.authorizations.length, sentry.authorizations.length];
    const asked = model.requests.length;
    callWhoami();
    await codexTurn('factory-broker-made-up');

    expect([linear.authorizations.length, sentry.authorizations.length]).toEqual(before);
    expect(JSON.stringify(model.requests.slice(asked).map((r) => r.body))).not.toContain('the host');
  }, 90_000);
});
