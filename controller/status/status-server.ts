// The operator's endpoint, separate from the webhook server so it can stay on loopback while GitHub's deliveries
// arrive on a public address: `GET /metrics` (Prometheus), `GET /status` and `GET /jobs/:id` (JSON for `factory status`), and `GET /`, a read-only status page.
// It also answers /livez, /readyz and /healthz, the one health check left with `intake: scaleset` (no webhook port).
// It is never a port GitHub reaches: neither intake needs it to face the internet.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import type { JobTimeline } from '../observe/timeline.js';
import type { StatusSnapshot } from './status-snapshot.js';
import { STATUS_PAGE_CSP, STATUS_PAGE_CSS, STATUS_PAGE_HTML, STATUS_PAGE_JS } from './status-page.js';
import { errorMessage } from '../util/error-message.js';

const PAGE: Record<string, [string, string]> = {
  '/': ['text/html; charset=utf-8', STATUS_PAGE_HTML],
  '/status-page.js': ['text/javascript; charset=utf-8', STATUS_PAGE_JS],
  '/status-page.css': ['text/css; charset=utf-8', STATUS_PAGE_CSS],
};

export interface StatusSources {
  metrics(): Promise<{ contentType: string; text: string }>;
  status(): StatusSnapshot;
  job(jobId: number): JobTimeline | undefined;
  /** /livez, /readyz and /healthz as the webhook port answers them; undefined for any other path. With `intake:
   * scaleset` there is no webhook port, so a supervisor asks here. */
  health?(path: string): { status: number; body: Record<string, unknown> } | undefined;
}

export interface StatusServer {
  url: string;
  close(): Promise<void>;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/**
 * Whether a request's `Host` names this server as no other site can: an IP address, `localhost`, or the configured
 * `status.host`. A web page on attacker.example whose name is re-pointed at 127.0.0.1 (DNS rebinding) reaches this
 * port from the operator's browser with `Host: attacker.example`, and would read /status and /jobs as same-origin.
 */
export function isExpectedHost(header: string | undefined, listenHost: string): boolean {
  if (!header) return false;
  const name = (header.startsWith('[') ? header.slice(1, header.indexOf(']')) : header.replace(/:\d+$/, ''))
    .toLowerCase()
    .replace(/\.$/, '');
  return isIP(name) !== 0 || name === 'localhost' || name === listenHost.toLowerCase();
}

async function route(
  sources: StatusSources,
  req: IncomingMessage,
  res: ServerResponse,
  listenHost: string,
): Promise<void> {
  const { pathname } = new URL(req.url ?? '/', 'http://status');
  if (!isExpectedHost(req.headers.host, listenHost))
    return json(res, 421, {
      error: `Host ${JSON.stringify(req.headers.host ?? '')} is not this server's: use its IP address, localhost or ${listenHost}`,
    });
  if (req.method !== 'GET') return json(res, 405, { error: `use GET for ${pathname}` });
  if (pathname === '/metrics') {
    const { contentType, text } = await sources.metrics();
    res.writeHead(200, { 'content-type': contentType }).end(text);
    return;
  }
  if (pathname === '/status') return json(res, 200, sources.status());
  const health = sources.health?.(pathname);
  if (health) return json(res, health.status, health.body);
  const page = PAGE[pathname];
  if (page) {
    res
      .writeHead(200, {
        'content-type': page[0],
        'content-security-policy': STATUS_PAGE_CSP,
        'x-content-type-options': 'nosniff',
        'cache-control': 'no-cache',
      })
      .end(page[1]);
    return;
  }
  const job = /^\/jobs\/(\d+)$/.exec(pathname);
  if (job) {
    const timeline = sources.job(Number(job[1]));
    return timeline
      ? json(res, 200, timeline)
      : json(res, 404, { error: `job ${job[1]} is not in the timeline (it keeps the most recent jobs)` });
  }
  json(res, 404, { error: `no ${pathname} here: try /, /status, /jobs/ID or /metrics` });
}

/**
 * The status port is loopback by default, but an operator may publish it: a client that never finishes its headers or
 * holds connections open must not pin the controller's memory or sockets. Its readers (curl, Prometheus, the page) ask
 * small GETs and are answered at once.
 */
export const STATUS_LIMITS = {
  headersTimeout: 5_000,
  requestTimeout: 10_000,
  maxConnections: 64,
  idle: 30_000,
  /** How often Node looks for connections past the headers or request timeout. */
  checkInterval: 1_000,
};
export type StatusLimits = typeof STATUS_LIMITS;

/** Listens on host:port (port 0: any free port); the error names the config path to change. Tests pass small limits. */
export async function startStatusServer(
  host: string,
  port: number,
  sources: StatusSources,
  limits: StatusLimits = STATUS_LIMITS,
): Promise<StatusServer> {
  const server = createServer(
    {
      headersTimeout: limits.headersTimeout,
      requestTimeout: limits.requestTimeout,
      connectionsCheckingInterval: limits.checkInterval,
      maxHeaderSize: 16 * 1024,
    },
    (req, res) => {
      route(sources, req, res, host).catch((err) => json(res, 500, { error: errorMessage(err) }));
    },
  );
  server.maxConnections = limits.maxConnections;
  server.setTimeout(limits.idle, (socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(new Error(`status.port: cannot listen on ${host}:${port} (${(err as NodeJS.ErrnoException).code})`)),
    );
    server.listen(port, host, resolve);
  });
  const address = server.address() as { port: number };
  return {
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host}:${address.port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
