// A job's broker in front of a hosted MCP server whose login the host's claude keeps (`credential: oauth`): the job
// holds only its placeholder; the broker sends the host's access token and refreshes the login on the host alone,
// once however many jobs use it, against an authorization server that rotates refresh tokens and revokes a login
// whose refresh token is presented twice.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LoginRefreshers } from '../../controller/broker/login-refresher.js';
import { McpLoginRefreshers } from '../../controller/broker/mcp-login-refresher.js';
import { startModelBroker, type ModelBroker } from '../../controller/broker/model-broker.js';
import { claudeMcpOAuthKey, type BrokeredMcp } from '../../controller/lanes/mcp-render.js';
import { startFakeOAuthMcp, type FakeOAuthMcp } from '../support/fake-oauth-mcp.js';
import { claudeLogin } from '../support/lane-homes.js';

const HOUR = 3600_000;
let clock: number;
const now = () => clock;
let linear: FakeOAuthMcp;
let root: string;
let credentials: string;
let brokers: ModelBroker[] = [];

beforeEach(async () => {
  clock = Date.now();
  linear = await startFakeOAuthMcp({ name: 'linear', now, lifetimeMs: HOUR, tokenDelayMs: 150 });
  root = mkdtempSync(join(tmpdir(), 'mcp-oauth-broker-'));
  credentials = join(root, '.credentials.json');
});
afterEach(async () => {
  for (const b of brokers) await b.close();
  brokers = [];
  await linear.close();
  rmSync(root, { recursive: true, force: true });
});

const KEY = () => claudeMcpOAuthKey('linear', linear.url);

/** The host's claude credentials as `/mcp` leaves them: its own login, the server's, and one for another server. */
function hostLogin(opts: { discovery?: boolean; entry?: Record<string, unknown> } = {}) {
  const login = linear.login();
  const file = {
    ...claudeLogin('sk-ant-oat01-host', 'sk-ant-ort01-host'),
    mcpOAuth: {
      [KEY()]: {
        serverName: 'linear',
        serverUrl: linear.url,
        accessToken: login.accessToken,
        refreshToken: login.refreshToken,
        expiresAt: login.expiresAt,
        clientId: login.clientId,
        clientSecret: login.clientSecret,
        scope: 'read write',
        redirectUri: 'http://localhost:53111/callback',
        ...(opts.discovery !== false
          ? { discoveryState: { authorizationServerUrl: linear.issuer, oauthMetadataFound: true } }
          : {}),
        ...opts.entry,
      },
      'figma|0123456789abcdef': {
        serverName: 'figma',
        serverUrl: 'https://mcp.figma.com/mcp',
        accessToken: 'figma-at',
      },
    },
  };
  writeFileSync(credentials, JSON.stringify(file), { mode: 0o600 });
  return login;
}
const hostFile = () => JSON.parse(readFileSync(credentials, 'utf8'));
const entry = () => hostFile().mcpOAuth[KEY()];

const server = (): BrokeredMcp => ({ name: 'linear', url: linear.url, credential: 'oauth' });

/** A job's broker; `logins` is the controller's one set of refreshers (JobBrokers holds it). */
async function jobBroker(logins: McpLoginRefreshers, servers = [server()]) {
  const broker = await startModelBroker(
    {
      runnerName: `job-${brokers.length}`,
      logins: new Map(),
      models: [],
      mcp: { servers, envFiles: [], claudeCredentials: credentials },
    },
    {
      refreshers: new LoginRefreshers({ claude: '', codex: '' }),
      mcpLogins: logins,
      upstreams: {
        anthropicUrl: 'http://127.0.0.1:9',
        openaiUrl: 'http://127.0.0.1:9',
        chatgptUrl: 'http://127.0.0.1:9',
      },
    },
  );
  brokers.push(broker);
  return broker;
}

/** The SDK's client as claude or codex uses it from the rendered entry: the broker's address, the placeholder. */
async function connect(broker: ModelBroker, bearer = broker.token): Promise<Client> {
  const client = new Client({ name: 'job', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${broker.port}/mcp/linear`), {
    requestInit: { headers: { Authorization: `Bearer ${bearer}` } },
  });
  await client.connect(transport);
  return client;
}

const whoami = async (client: Client) =>
  ((await client.callTool({ name: 'whoami', arguments: {} })).content as Array<{ text: string }>)[0]!.text;

const post = (broker: ModelBroker, bearer = broker.token, path = '/mcp/linear') =>
  fetch(`http://127.0.0.1:${broker.port}${path}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${bearer}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
  });

describe("a job's broker for a hosted MCP server the host's claude is logged in to", () => {
  it("sends the host's access token in place of the placeholder; the server never sees the placeholder", async () => {
    const login = hostLogin();
    const broker = await jobBroker(new McpLoginRefreshers({ now }));
    const client = await connect(broker);
    expect(await whoami(client)).toBe("linear account: the host's own");
    await client.close();

    expect(new Set(linear.authorizations)).toEqual(new Set([`Bearer ${login.accessToken}`]));
    expect(linear.refreshRequests).toBe(0);
  });

  it('three jobs on one login whose token expires mid-job: one refresh on the host, every call answered', async () => {
    const login = hostLogin();
    const logins = new McpLoginRefreshers({ now });
    const jobs = await Promise.all([0, 1, 2].map(() => jobBroker(logins)));
    const clients = await Promise.all(jobs.map((b) => connect(b)));
    const calls = async () => (await Promise.all(clients.map(whoami))).every((t) => t.includes("the host's own"));

    expect(await calls()).toBe(true);
    clock += HOUR + 1; // the token expires while the three jobs run
    const answered = await Promise.all([calls(), calls(), calls()]);
    expect(await calls()).toBe(true);
    for (const c of clients) await c.close();

    expect(answered).toEqual([true, true, true]);
    expect([linear.refreshes, linear.refreshRequests]).toEqual([1, 1]);
    // The host file holds the rotated login, every other field as the host's claude left it.
    const after = hostFile();
    expect(after.mcpOAuth[KEY()]).toEqual({
      serverName: 'linear',
      serverUrl: linear.url,
      accessToken: expect.not.stringMatching(login.accessToken),
      refreshToken: expect.not.stringMatching(login.refreshToken),
      expiresAt: clock + HOUR,
      clientId: login.clientId,
      clientSecret: login.clientSecret,
      scope: 'read write',
      redirectUri: 'http://localhost:53111/callback',
      discoveryState: { authorizationServerUrl: linear.issuer, oauthMetadataFound: true },
    });
    expect(after.claudeAiOauth.refreshToken).toBe('sk-ant-ort01-host');
    expect(after.mcpOAuth['figma|0123456789abcdef'].accessToken).toBe('figma-at');
    expect(linear.authorizations.at(-1)).toBe(`Bearer ${after.mcpOAuth[KEY()].accessToken}`);
  });

  it('a token the server refuses before its recorded expiry is refreshed once and each request sent again', async () => {
    hostLogin();
    const logins = new McpLoginRefreshers({ now });
    const jobs = await Promise.all([0, 1, 2].map(() => jobBroker(logins)));
    linear.revokeAccessTokens();
    const answers = await Promise.all(jobs.flatMap((b) => [post(b), post(b)]));

    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    const texts = await Promise.all(answers.map((r) => r.text()));
    expect(texts.every((t) => t.includes('whoami'))).toBe(true);
    expect(linear.refreshes).toBe(1);
  });

  it('two controllers on one host file refresh it once: the file lock and the re-read inside it', async () => {
    hostLogin();
    const a = await jobBroker(new McpLoginRefreshers({ now }));
    const b = await jobBroker(new McpLoginRefreshers({ now }));
    clock += HOUR + 1;
    const answers = await Promise.all([post(a), post(b), post(a), post(b)]);

    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(linear.refreshes).toBe(1);
  });

  it("finds the token endpoint from the server's protected-resource metadata when the login recorded none", async () => {
    hostLogin({ discovery: false });
    const broker = await jobBroker(new McpLoginRefreshers({ now }));
    clock += HOUR + 1;
    expect((await post(broker)).status).toBe(200);
    expect(linear.refreshes).toBe(1);
    expect(entry().discoveryState).toBeUndefined();
  });

  it('a refresh the provider refuses names the server and says to log in again; the host file is left as it was', async () => {
    const login = hostLogin();
    // Someone spent the host's refresh token elsewhere, twice: the provider revokes the login.
    for (const _ of [1, 2])
      await fetch(`${linear.issuer}/oauth/token`, {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: login.refreshToken,
          client_id: login.clientId,
          client_secret: login.clientSecret,
          resource: linear.url,
        }),
      });
    expect(linear.refreshes).toBe(1);
    const before = readFileSync(credentials, 'utf8');
    const broker = await jobBroker(new McpLoginRefreshers({ now }));
    clock += HOUR + 1;
    const res = await post(broker);

    expect(res.status).toBe(502);
    const message = ((await res.json()) as { error: { message: string } }).error.message;
    expect(message).toMatch(
      /^broker: MCP server linear: linear's authorization server \(http:\/\/127\.0\.0\.1:\d+\/oauth\/token\) refused the host's refresh \(.*invalid_grant.*\)/,
    );
    expect(message).toContain("log in to linear again with the host's claude: claude → /mcp");
    expect(message).not.toContain(login.refreshToken);
    expect(readFileSync(credentials, 'utf8')).toBe(before);
  });

  it("answers 502 naming the server and the fix when the host's claude has no login for it", async () => {
    writeFileSync(credentials, JSON.stringify(claudeLogin('sk-ant-oat01-host', 'sk-ant-ort01-host')));
    const broker = await jobBroker(new McpLoginRefreshers({ now }));
    const res = await post(broker);

    expect(res.status).toBe(502);
    expect(((await res.json()) as { error: { message: string } }).error.message).toBe(
      "broker: MCP server linear: the host's claude has no login for linear; log in to linear with the host's claude: claude → /mcp",
    );
    expect(linear.authorizations).toEqual([]);
  });

  it('an expired login without a refresh token is not sent: the job hears why', async () => {
    hostLogin({ entry: { refreshToken: undefined } });
    const broker = await jobBroker(new McpLoginRefreshers({ now }));
    clock += HOUR + 1;
    const res = await post(broker);
    expect(res.status).toBe(502);
    expect(await res.text()).toContain('has expired and holds no refresh token');
    expect(linear.refreshRequests).toBe(0);
  });

  it('a login the server refuses and that cannot be refreshed says so, and to log in again', async () => {
    hostLogin({ entry: { refreshToken: undefined } });
    const broker = await jobBroker(new McpLoginRefreshers({ now }));
    linear.revokeAccessTokens();
    const res = await post(broker);
    expect(res.status).toBe(502);
    expect(await res.text()).toContain(
      "the host's login for linear was refused by linear and holds no refresh token; log in to linear again",
    );
  });

  it('holds a request for a retry up to 4 MB, and refuses a larger one before it reaches the server', async () => {
    hostLogin();
    const broker = await jobBroker(new McpLoginRefreshers({ now }));
    const res = await fetch(`http://127.0.0.1:${broker.port}/mcp/linear`, {
      method: 'POST',
      headers: { authorization: `Bearer ${broker.token}`, 'content-type': 'application/json' },
      body: 'x'.repeat(4 * 1024 * 1024 + 1),
    });
    expect(res.status).toBe(413);
    expect(linear.authorizations).toEqual([]);
  });

  it("refuses another job's placeholder, before anything reaches the server or the token endpoint", async () => {
    hostLogin();
    const logins = new McpLoginRefreshers({ now });
    const a = await jobBroker(logins);
    const b = await jobBroker(logins);
    clock += HOUR + 1;
    for (const bearer of [a.token, 'factory-broker-made-up', ''])
      expect((await post(b, bearer)).status, bearer).toBe(401);
    await expect(connect(b, a.token)).rejects.toThrow(/unknown placeholder/);

    expect(linear.authorizations).toEqual([]);
    expect(linear.refreshRequests).toBe(0);
  });
});
