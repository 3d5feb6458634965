// The HTTP edge GitHub delivers to. It answers fast (GitHub gives up after 10 s) and hands verified events on.
import type { IncomingMessage, Server, ServerOptions, ServerResponse } from 'node:http';
import { verify } from '@octokit/webhooks-methods';
import type { WebhookEvent } from '../model/webhook-event.js';
import { BoundedSet } from '../util/bounded-set.js';

export interface WebhookOptions {
  path: string;
  secret: string;
  /** Takes a verified event; returns a message when the payload is malformed (the sender gets 400 with it). */
  onEvent: (event: WebhookEvent) => string | void;
  maxBodyBytes?: number;
  now?: () => number;
}

/**
 * GitHub caps payloads at 25 MB, but the largest workflow_job example in @octokit/webhooks-examples is 11 KiB and a
 * queued one carries no steps at all. 64 KiB leaves room for a completed job with a few hundred steps (a refused
 * completed delivery costs nothing: cleanup follows the container's exit) while 256 held connections can pin at most
 * 16 MiB of bodies.
 */
export const DEFAULT_MAX_BODY = 64 * 1024;

/**
 * The webhook port faces the internet. Node's defaults let a client hold a connection for 300 s (requestTimeout) and
 * check only every 30 s; GitHub itself gives up on a delivery after 10 s and sends a few KiB, so a request that is
 * not complete in 10 s, or has no headers after 5 s, is not GitHub. A lost delivery is recovered by the queued-jobs
 * poll, so refusing connections past the cap loses no job.
 */
export const WEBHOOK_SERVER: ServerOptions = {
  headersTimeout: 5_000,
  requestTimeout: 10_000,
  connectionsCheckingInterval: 1_000,
  maxHeaderSize: 16 * 1024,
};
export const WEBHOOK_MAX_CONNECTIONS = 256;

/** Applies what createServer's options cannot carry: the connection cap and the idle and keep-alive timeouts. */
export function limitWebhookServer(server: Server): Server {
  server.maxConnections = WEBHOOK_MAX_CONNECTIONS;
  server.keepAliveTimeout = 5_000;
  server.setTimeout(10_000, (socket) => socket.destroy());
  return server;
}

function reply(res: ServerResponse, status: number, body: object): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** Answers, then drops the connection: reading on would let a client stream an endless body into the void. */
function refuse(req: IncomingMessage, res: ServerResponse, status: number, body: object): void {
  res
    .writeHead(status, { 'content-type': 'application/json', connection: 'close' })
    .end(JSON.stringify(body), () => req.destroy());
}

/** Returns a request handler for `POST {path}`; it returns false for requests that are not for it. */
export function webhookHandler(opts: WebhookOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  const max = opts.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const now = opts.now ?? Date.now;
  const deliveries = new BoundedSet<string>(10_000);

  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://factory');
    if (url.pathname !== opts.path) return false;
    if (req.method !== 'POST') {
      reply(res, 405, { error: `use POST for ${opts.path}` });
      return true;
    }
    const receivedAt = now();
    if (Number(req.headers['content-length'] ?? 0) > max) {
      refuse(req, res, 413, { error: `payload over ${max} bytes` });
      return true;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size <= max) return void chunks.push(chunk);
      tooLarge = true;
      chunks.length = 0;
      refuse(req, res, 413, { error: `payload over ${max} bytes` });
    });
    req.on('end', () => {
      if (!tooLarge) void accept(Buffer.concat(chunks).toString('utf8'));
    });

    const accept = async (body: string) => {
      const signature = header(req, 'x-hub-signature-256');
      // verify() compares in constant time; a missing header never reaches it.
      if (!signature || !(await verify(opts.secret, body, signature).catch(() => false))) {
        return reply(res, 401, { error: 'missing or invalid X-Hub-Signature-256' });
      }
      const name = header(req, 'x-github-event');
      const deliveryId = header(req, 'x-github-delivery');
      if (!name || !deliveryId) return reply(res, 400, { error: 'missing X-GitHub-Event or X-GitHub-Delivery header' });
      let payload: unknown;
      try {
        payload = JSON.parse(body);
      } catch {
        return reply(res, 400, { error: 'body is not JSON (set the webhook content type to application/json)' });
      }
      if (!deliveries.add(deliveryId)) return reply(res, 200, { duplicate: deliveryId });
      // The handler only records the event (any slow work runs after), so answering after it stays fast.
      const malformed = opts.onEvent({ name, deliveryId, payload, receivedAt });
      if (malformed) return reply(res, 400, { error: malformed });
      reply(res, 202, { accepted: deliveryId });
    };
    return true;
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
