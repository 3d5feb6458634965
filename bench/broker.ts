// What a job's brokers add per request, for each thing they broker: a streamed Messages request to the loopback fake
// model, an MCP `tools/list` to a loopback hosted server with a static token (`credential: token`) and to one behind
// OAuth whose login the host's claude keeps (`credential: oauth`, fresh, so no refresh), and gh's `GET /user` to a
// loopback GitHub API through the job's gh socket. Each is sent directly, with the real credential, and through the
// broker with the placeholder (placeholder check, the host's credential read, the token swapped, the answer streamed
// back), in pairs that alternate which goes first, the four kinds round-robin, in one run so all see the same machine.
// Keep-alive connections on every path, as the CLIs use. Alone: `npx tsx bench/broker.ts`.
import http from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGhBroker } from '../controller/broker/gh-broker.js';
import { LoginRefreshers } from '../controller/broker/login-refresher.js';
import { startModelBroker } from '../controller/broker/model-broker.js';
import { claudeMcpOAuthKey } from '../controller/lanes/mcp-render.js';
import { startFakeGhApi } from '../test/support/fake-gh-api.js';
import { startFakeHostedMcp } from '../test/support/fake-hosted-mcp.js';
import { startFakeModelServer } from '../test/support/fake-model-server.js';
import { startFakeOAuthMcp } from '../test/support/fake-oauth-mcp.js';
import { claudeLogin } from '../test/support/lane-homes.js';
import { median, p95, round } from './stats.js';

export interface BrokerLatency {
  requests: number;
  directMedianMs: number;
  brokerMedianMs: number;
  /** Median of the per-pair differences (broker minus the direct request beside it). */
  addedMedianMs: number;
  addedP95Ms: number;
}

export interface BrokerBench {
  model: BrokerLatency;
  mcpToken: BrokerLatency;
  mcpOAuth: BrokerLatency;
  gh: BrokerLatency;
}

type Kind = keyof BrokerBench;

/** One request, as a CLI sends it: where to, and with which credential. */
interface Call {
  url: string;
  /** The gh socket, when the request goes over one (`url` then names the API host gh meant). */
  socketPath?: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const MESSAGES = JSON.stringify({
  model: 'claude-sonnet-4-5',
  max_tokens: 64,
  stream: true,
  messages: [{ role: 'user', content: 'x'.repeat(4000) }],
});
const MESSAGES_HEADERS = { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' };
const TOOLS_LIST = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} });
const MCP_HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-protocol-version': '2025-06-18',
};

/** The request's time until its answer has ended; an answer other than 200 fails the bench rather than timing it. */
function timed(call: Call): Promise<number> {
  const start = process.hrtime.bigint();
  const url = new URL(call.url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        ...(call.socketPath ? { socketPath: call.socketPath } : { host: url.hostname, port: url.port }),
        path: `${url.pathname}${url.search}`,
        method: call.method,
        agent,
        headers: { ...call.headers, ...(call.socketPath ? { host: url.host } : {}) },
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 200
            ? resolve(Number(process.hrtime.bigint() - start) / 1e6)
            : reject(new Error(`${call.method} ${call.url}: answered ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(call.body);
  });
}

export async function benchBroker(requests = 300): Promise<BrokerBench> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-broker-'));
  const stops: Array<() => Promise<void>> = [];
  try {
    const calls = await brokeredUpstreams(dir, stops);
    const kinds = Object.keys(calls) as Kind[];
    const direct = Object.fromEntries(kinds.map((k) => [k, [] as number[]])) as Record<Kind, number[]>;
    const brokered = Object.fromEntries(kinds.map((k) => [k, [] as number[]])) as Record<Kind, number[]>;
    for (let i = 0; i < 20; i++)
      for (const k of kinds) {
        await timed(calls[k].direct);
        await timed(calls[k].broker);
      }
    for (let i = 0; i < requests; i++)
      for (const k of kinds) {
        // Alternate which goes first, so neither always pays for the other's garbage.
        if (i % 2 === 0) {
          direct[k].push(await timed(calls[k].direct));
          brokered[k].push(await timed(calls[k].broker));
        } else {
          brokered[k].push(await timed(calls[k].broker));
          direct[k].push(await timed(calls[k].direct));
        }
      }
    return Object.fromEntries(kinds.map((k) => [k, latency(direct[k], brokered[k])])) as unknown as BrokerBench;
  } finally {
    for (const stop of stops.reverse()) await stop();
    agent.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The loopback upstreams, the host's credentials in `dir`, a job's brokers in front; each kind's two requests. */
async function brokeredUpstreams(
  dir: string,
  stops: Array<() => Promise<void>>,
): Promise<Record<Kind, { direct: Call; broker: Call }>> {
  const model = await startFakeModelServer();
  stops.push(() => model.close());
  const linear = await startFakeHostedMcp('linear', 'lin_api_bench');
  stops.push(() => linear.close());
  const sentry = await startFakeOAuthMcp({ name: 'sentry', now: Date.now });
  stops.push(() => sentry.close());
  const github = await startFakeGhApi();
  stops.push(() => github.close());

  const envFile = join(dir, 'lane.env');
  writeFileSync(envFile, 'LINEAR_API_KEY=lin_api_bench\n', { mode: 0o600 });
  const login = sentry.login();
  const credentials = join(dir, '.credentials.json');
  const entry = { serverName: 'sentry', serverUrl: sentry.url, ...login };
  const discoveryState = { authorizationServerUrl: sentry.issuer, oauthMetadataFound: true };
  writeFileSync(
    credentials,
    JSON.stringify({
      ...claudeLogin('sk-ant-oat01-bench', 'sk-ant-ort01-bench'),
      mcpOAuth: { [claudeMcpOAuthKey('sentry', sentry.url)]: { ...entry, discoveryState } },
    }),
    { mode: 0o600 },
  );
  const broker = await startModelBroker(
    {
      runnerName: 'bench',
      logins: new Map([['claude', { agent: 'claude', source: dir }]]),
      models: [],
      mcp: {
        servers: [
          { name: 'linear', url: linear.url, credential: 'token', tokenEnv: 'LINEAR_API_KEY' },
          { name: 'sentry', url: sentry.url, credential: 'oauth' },
        ],
        envFiles: [envFile],
        claudeCredentials: credentials,
      },
    },
    {
      refreshers: new LoginRefreshers({ claude: '', codex: '' }),
      upstreams: { anthropicUrl: model.url, openaiUrl: model.url, chatgptUrl: model.url },
    },
  );
  stops.push(() => broker.close());
  const ghHost = join(dir, 'gh-host');
  const socketPath = join(dir, 'gh-job', 'broker.sock');
  mkdirSync(ghHost);
  mkdirSync(join(dir, 'gh-job'));
  writeFileSync(join(ghHost, 'hosts.yml'), 'github.com:\n    oauth_token: gho_bench\n    user: octocat\n');
  const gh = await startGhBroker(
    { socketPath, token: 'factory-broker-gh-bench', source: ghHost },
    { githubApiUrl: github.url, githubUploadsUrl: github.url },
  );
  stops.push(() => gh.close());

  const viaBroker = `http://127.0.0.1:${broker.port}`;
  const post = (url: string, headers: Record<string, string>, token: string, body: string): Call => ({
    url,
    method: 'POST',
    headers: { ...headers, authorization: `Bearer ${token}` },
    body,
  });
  const ghGet = (url: string, token: string, over?: string): Call => ({
    url,
    ...(over ? { socketPath: over } : {}),
    method: 'GET',
    headers: { accept: 'application/vnd.github+json', authorization: `token ${token}` },
  });
  return {
    model: {
      direct: post(`${model.url}/v1/messages`, MESSAGES_HEADERS, 'sk-ant-oat01-bench', MESSAGES),
      broker: post(`${viaBroker}/v1/messages`, MESSAGES_HEADERS, broker.token, MESSAGES),
    },
    mcpToken: {
      direct: post(linear.url, MCP_HEADERS, 'lin_api_bench', TOOLS_LIST),
      broker: post(`${viaBroker}/mcp/linear`, MCP_HEADERS, broker.token, TOOLS_LIST),
    },
    mcpOAuth: {
      direct: post(sentry.url, MCP_HEADERS, login.accessToken, TOOLS_LIST),
      broker: post(`${viaBroker}/mcp/sentry`, MCP_HEADERS, broker.token, TOOLS_LIST),
    },
    // gh dials the socket for api.github.com and names the host in its request, as the job's gh does.
    gh: {
      direct: ghGet(`${github.url}/user`, 'gho_bench'),
      broker: ghGet('https://api.github.com/user', 'factory-broker-gh-bench', socketPath),
    },
  };
}

function latency(direct: number[], brokered: number[]): BrokerLatency {
  const added = brokered.map((b, i) => b - direct[i]!);
  return {
    requests: direct.length,
    directMedianMs: round(median(direct), 2),
    brokerMedianMs: round(median(brokered), 2),
    addedMedianMs: round(median(added), 2),
    addedP95Ms: round(p95(added), 2),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(await benchBroker(), null, 2));
