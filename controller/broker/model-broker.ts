// A job's model broker: an HTTP server that only this job's placeholder opens, in the controller's process. It
// reads the host's login at each request (through the login's one refresher), forwards to the provider with the real
// token, and streams the answer back. The job never sees a real token; when the job ends the server closes, and the
// placeholder opens nothing anywhere.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import type { Agent } from '../../lane-contract/agents.js';
import type { HostLogin } from '../lanes/host-login.js';
import { PLACEHOLDER_PREFIX, routeRequest, upstreamHeaders, upstreamUrl, type Upstreams } from './broker-route.js';
import type { LoginRefreshers, LoginSource } from './login-refresher.js';
import { forwardMcp, type McpJob } from './mcp-forward.js';
import { McpLoginRefreshers } from './mcp-login-refresher.js';
import { MCP_PREFIX } from './mcp-route.js';
import { openedByThisProcess } from './peer-check.js';
import { forwardFailed, sendUpstream, streamAnswer, type Refuse } from './upstream-forward.js';

export interface BrokerJob {
  runnerName: string;
  /** The host logins the job's profile carries, one per agent. */
  logins: ReadonlyMap<Agent, LoginSource>;
  models: readonly string[];
  /**
   * Only connections this process opened: a job behind egress reaches its broker through the relay the controller
   * serves, so any other caller is someone else (peer-check.ts).
   */
  relayedOnly?: boolean;
  /** The profile's MCP servers whose credentials the broker adds (mcp-route.ts), and where those are on the host. */
  mcp?: Omit<McpJob, 'token' | 'logins'>;
}

export interface ModelBroker {
  /** The placeholder the job's files carry. */
  token: string;
  port: number;
  /** Requests forwarded, refused, and what the host's login answered, for the log and the tests. */
  counts: { forwarded: number; refused: number };
  close(): Promise<void>;
}

/** A request body larger than this is refused: model requests are a few MB at most. */
const MAX_BODY = 32 * 1024 * 1024;

export const newPlaceholder = () => `${PLACEHOLDER_PREFIX}${randomBytes(24).toString('base64url')}`;

export async function startModelBroker(
  job: BrokerJob,
  deps: {
    refreshers: LoginRefreshers;
    /** The process's one set of hosted-MCP login refreshers; a broker of its own has its own (tests). */
    mcpLogins?: McpLoginRefreshers;
    upstreams: Upstreams;
    host?: string;
    /** A job's own placeholder and port, kept when a restarted controller starts its broker again (job-brokers.ts). */
    token?: string;
    port?: number;
  },
): Promise<ModelBroker> {
  const token = deps.token ?? newPlaceholder();
  const counts = { forwarded: 0, refused: 0 };
  const allowed = { token, agents: new Set(job.logins.keys()), models: job.models };
  const refuse: Refuse = (res, status, message) => {
    counts.refused += 1;
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message } }));
  };

  const mcp = job.mcp && { ...job.mcp, token, logins: deps.mcpLogins ?? new McpLoginRefreshers() };
  const server = http.createServer((req, res) => {
    // MCP traffic streams both ways (SSE answers, long-lived GETs): never buffered like a model request.
    if (mcp && req.url?.startsWith(MCP_PREFIX)) return forwardMcp(req, res, mcp, refuse, () => (counts.forwarded += 1));
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      let body: unknown;
      try {
        body = raw.length ? JSON.parse(raw.toString('utf8')) : undefined;
      } catch {
        body = undefined;
      }
      const route = routeRequest(
        { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body },
        allowed,
      );
      if (route.kind === 'refuse') return refuse(res, route.status, route.message);
      const refresher = deps.refreshers.for(job.logins.get(route.agent)!);
      const send = async (login: HostLogin, retry: boolean): Promise<void> => {
        const target = new URL(upstreamUrl(route, login, deps.upstreams));
        const up = await sendUpstream(target, req, res, upstreamHeaders(req.headers, login), raw);
        // A token the provider refused although the host thought it fresh: refreshed once on the host, sent again.
        if (up.statusCode === 401 && retry && login.refreshToken) {
          up.resume();
          return send(await refresher.rejected(login.secret), false);
        }
        counts.forwarded += 1;
        streamAnswer(up, res);
      };
      refresher
        .current()
        .then((login) => send(login, true))
        .catch((err: Error) => forwardFailed(req, res, refuse, 502, `broker: ${err.message}`));
    });
  });
  server.keepAliveTimeout = 65_000;
  // Each connection is admitted before a byte of it is read: with relayedOnly, only the controller's own relay.
  const open = new Set<net.Socket>();
  // noDelay: http.Server sets it on the connections it accepts, not on those handed to it; without it a streamed
  // answer's headers and first event wait out the client's delayed ACK (40 ms on Linux).
  const front = net.createServer({ pauseOnConnect: true, noDelay: true }, (socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    const admit = job.relayedOnly ? openedByThisProcess(socket) : Promise.resolve(true);
    void admit.then((ours) => {
      // Closed while it was checked (the broker closing): neither a refusal nor the HTTP server's to serve.
      if (socket.destroyed) return;
      if (!ours) {
        counts.refused += 1;
        return socket.destroy();
      }
      server.emit('connection', socket);
      socket.resume();
    });
  });
  await new Promise<void>((resolve, reject) =>
    front.once('error', reject).listen(deps.port ?? 0, deps.host ?? '127.0.0.1', () => resolve()),
  );
  return {
    token,
    port: (front.address() as AddressInfo).port,
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        front.close(() => resolve());
        for (const socket of open) socket.destroy();
      }),
  };
}
