// The real claude CLI reads a brokered lane's rendered MCP entries and connects through the job's broker, holding only
// the placeholder: the hosted servers (loopback stand-ins) see the host's token, or the host claude's OAuth login for
// a `credential: oauth` server, which the job's credentials file does not hold. `claude mcp list` connects to each
// user-scope server to report its health, so it is the CLI's own client that is checked, not the SDK's.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
  type BrokeredMcp,
} from '../../controller/lanes/mcp-render.js';
import { startFakeHostedMcp, type FakeHostedMcp } from '../support/fake-hosted-mcp.js';
import { startFakeOAuthMcp, type FakeOAuthMcp } from '../support/fake-oauth-mcp.js';
import { claudeLogin } from '../support/lane-homes.js';

const REAL = 'lin_api_host-only-value';
const run = promisify(execFile);
let root: string;
let linear: FakeHostedMcp;
let sentry: FakeOAuthMcp;
let broker: ModelBroker;
const mcpLogins = new McpLoginRefreshers();
const hostCredentials = () => join(root, 'host', '.credentials.json');

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'factory-mcp-broker-cli-'));
  writeFileSync(join(root, 'lane.env'), `LINEAR_API_KEY=${REAL}\n`);
  linear = await startFakeHostedMcp('linear', REAL);
  sentry = await startFakeOAuthMcp({ name: 'sentry', now: Date.now });
  // The host's claude is logged in to sentry (`/mcp`), and its token has expired: the broker refreshes it first.
  const login = sentry.login();
  mkdirSync(join(root, 'host'));
  writeFileSync(
    hostCredentials(),
    JSON.stringify({
      ...claudeLogin('sk-ant-oat01-host', 'sk-ant-ort01-host'),
      mcpOAuth: {
        [claudeMcpOAuthKey('sentry', sentry.url)]: {
          serverName: 'sentry',
          serverUrl: sentry.url,
          accessToken: login.accessToken,
          refreshToken: login.refreshToken,
          expiresAt: Date.now() - 1000,
          clientId: login.clientId,
          clientSecret: login.clientSecret,
          discoveryState: { authorizationServerUrl: sentry.issuer },
        },
      },
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
      mcpLogins,
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
    JSON.stringify({ claudeAiOauth: { ...claudeLogin(broker.token, 'factory-broker-no-refresh').claudeAiOauth } }),
    { mode: 0o600 },
  );
});
afterAll(async () => {
  await broker.close();
  await linear.close();
  await sentry.close();
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
    const host = JSON.parse(readFileSync(hostCredentials(), 'utf8')).mcpOAuth[claudeMcpOAuthKey('sentry', sentry.url)];
    expect(sentry.refreshes).toBe(1);
    expect(new Set(sentry.authorizations)).toEqual(new Set([`Bearer ${host.accessToken}`]));
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
