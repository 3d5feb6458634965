// A job's broker in front of its profile's hosted MCP servers: the SDK's own client, holding only the job's
// placeholder, lists a loopback server's tools through it; the server sees the host's token, never the placeholder
// (a static one from the env files, or for `credential: gh` the host's gh login).
import { createServer, type Server } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LoginRefreshers } from '../../controller/broker/login-refresher.js';
import { startModelBroker, type ModelBroker } from '../../controller/broker/model-broker.js';
import { routeMcp } from '../../controller/broker/mcp-route.js';
import type { BrokeredMcp } from '../../controller/lanes/mcp-render.js';
import { startFakeHostedMcp, type FakeHostedMcp } from '../support/fake-hosted-mcp.js';

const REAL = 'lin_api_host-real-token';
const GH_TOKEN = 'gho_hostGhLoginForMcp0123456789abcdefAB';
let linear: FakeHostedMcp;
let root: string;
let envFile: string;
let ghSource: string;
let brokers: ModelBroker[] = [];

beforeAll(async () => {
  linear = await startFakeHostedMcp('linear', REAL);
  root = mkdtempSync(join(tmpdir(), 'mcp-broker-'));
  envFile = join(root, 'lane.env');
  writeFileSync(envFile, `LINEAR_API_KEY=${REAL}\nOTHER=kept\n`, { mode: 0o600 });
  ghSource = join(root, 'gh');
  mkdirSync(ghSource);
  writeFileSync(join(ghSource, 'hosts.yml'), `github.com:\n    oauth_token: ${GH_TOKEN}\n    user: octocat\n`);
});
afterAll(async () => {
  await linear.close();
  rmSync(root, { recursive: true, force: true });
});
afterEach(async () => {
  for (const b of brokers) await b.close();
  brokers = [];
});

const server = (name: string, url: string, tokenEnv = 'LINEAR_API_KEY'): BrokeredMcp => ({
  name,
  url,
  credential: 'token',
  tokenEnv,
});

async function jobBroker(servers: BrokeredMcp[]) {
  const broker = await startModelBroker(
    {
      runnerName: `job-${brokers.length}`,
      logins: new Map(),
      models: [],
      mcp: { servers, envFiles: [envFile], ghSource },
    },
    {
      refreshers: new LoginRefreshers({ claude: '', codex: '' }),
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

/** The SDK's client as claude or codex uses it: the broker's address and the placeholder as its bearer. */
async function connect(url: string, bearer: string): Promise<Client> {
  const client = new Client({ name: 'job', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${bearer}` } },
  });
  await client.connect(transport);
  return client;
}

describe("a job's broker for its MCP servers", () => {
  it("lets the job's placeholder list the server's tools, sending the host's token in its place", async () => {
    const broker = await jobBroker([server('linear', linear.url)]);
    const before = linear.authorizations.length;
    const client = await connect(`http://127.0.0.1:${broker.port}/mcp/linear`, broker.token);
    const { tools } = await client.listTools();
    await client.close();

    expect(tools.map((t) => t.name)).toEqual(['whoami']);
    const seen = linear.authorizations.slice(before);
    expect(seen.length).toBeGreaterThan(0);
    expect(new Set(seen)).toEqual(new Set([`Bearer ${REAL}`]));
    expect(seen.join('\n')).not.toContain(broker.token);
  });

  it("sends a `credential: gh` server the host's gh login, never the placeholder", async () => {
    const github = await startFakeHostedMcp('github', GH_TOKEN);
    try {
      const broker = await jobBroker([{ name: 'github', url: github.url, credential: 'gh' }]);
      const client = await connect(`http://127.0.0.1:${broker.port}/mcp/github`, broker.token);
      expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['whoami']);
      await client.close();
      expect(new Set(github.authorizations)).toEqual(new Set([`Bearer ${GH_TOKEN}`]));
    } finally {
      await github.close();
    }
  });

  it('refuses a wrong placeholder with 401, before anything reaches the server', async () => {
    // A server of its own: the SDK client of another test may still open its GET stream on the shared one.
    const own = await startFakeHostedMcp('own', REAL);
    try {
      const broker = await jobBroker([server('own', own.url)]);
      await expect(connect(`http://127.0.0.1:${broker.port}/mcp/own`, 'factory-broker-made-up')).rejects.toThrow(
        /unknown placeholder/,
      );
      const res = await fetch(`http://127.0.0.1:${broker.port}/mcp/own`, { method: 'POST', body: '{}' });
      expect(res.status).toBe(401);
      expect(own.authorizations).toEqual([]);
    } finally {
      await own.close();
    }
  });

  it('answers 404 for a server the profile does not broker', async () => {
    const broker = await jobBroker([server('linear', linear.url)]);
    for (const path of ['/mcp/sentry', '/mcp/linearx', '/mcp/', '/mcp']) {
      const res = await fetch(`http://127.0.0.1:${broker.port}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${broker.token}` },
        body: '{}',
      });
      expect(res.status, path).toBe(404);
    }
  });

  it("never shows the job the host's token, in answers or in refusals", async () => {
    const broker = await jobBroker([
      server('linear', linear.url),
      server('broken', 'http://127.0.0.1:9/mcp', 'MISSING'),
    ]);
    const texts: string[] = [];
    for (const [path, token] of [
      ['/mcp/linear', broker.token],
      ['/mcp/linear', 'wrong'],
      ['/mcp/broken', broker.token],
      ['/mcp/nope', broker.token],
    ] as const) {
      const res = await fetch(`http://127.0.0.1:${broker.port}${path}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      texts.push(JSON.stringify([...res.headers]), await res.text());
    }
    expect(texts.join('\n')).not.toContain(REAL);
    expect(texts.join('\n')).toContain('MISSING is not set');
  });

  it('streams an SSE answer event by event, and keeps the sub-path and query on the one configured server', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const seen: Array<{ url: string; method: string; auth: string }> = [];
    const sse: Server = createServer((req, res) => {
      seen.push({ url: req.url ?? '', method: req.method ?? '', auth: req.headers.authorization ?? '' });
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: first\n\n');
      void held.then(() => res.end('data: last\n\n'));
    });
    await new Promise<void>((r) => sse.listen(0, '127.0.0.1', r));
    try {
      const port = (sse.address() as { port: number }).port;
      const broker = await jobBroker([server('events', `http://127.0.0.1:${port}/base`)]);
      const res = await fetch(`http://127.0.0.1:${broker.port}/mcp/events/stream?x=1`, {
        headers: { authorization: `Bearer ${broker.token}` },
      });
      const reader = res.body!.getReader();
      const first = new TextDecoder().decode((await reader.read()).value);
      expect(first).toBe('data: first\n\n'); // while the server still holds the stream open
      release();
      let rest = '';
      for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value);
      expect(rest).toBe('data: last\n\n');
      expect(seen).toEqual([{ url: '/base/stream?x=1', method: 'GET', auth: `Bearer ${REAL}` }]);
    } finally {
      release();
      sse.closeAllConnections();
      await new Promise<void>((r) => sse.close(() => r()));
    }
  });
});

describe('the MCP route', () => {
  const job = { token: 'p', servers: [server('linear', 'https://mcp.linear.app/mcp')] };
  const route = (url: string) => routeMcp({ url, headers: { authorization: 'Bearer p' } }, job);

  it('forwards only to the configured url, below its path', () => {
    expect(route('/mcp/linear')).toMatchObject({ kind: 'forward', target: 'https://mcp.linear.app/mcp' });
    expect(route('/mcp/linear/sse?a=b')).toMatchObject({ target: 'https://mcp.linear.app/mcp/sse?a=b' });
    for (const url of ['/mcp/linear/../../x', '/mcp/linear/%2e%2e/x', '/mcp/linear/a%2Fb', '/mcp/linear/..%2f'])
      expect(route(url), url).toMatchObject({ kind: 'refuse', status: 400 });
    expect(route('/mcp/linear@evil.example/x')).toMatchObject({ kind: 'refuse', status: 404 });
  });
});
