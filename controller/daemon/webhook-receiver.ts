// The HTTP edge GitHub delivers to. It answers fast (GitHub gives up after 10 s) and hands verified events on.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { verify } from '@octokit/webhooks-methods';
import { BoundedSet } from '../util/bounded-set.js';

export interface WebhookEvent { name: string; deliveryId: string; payload: unknown; receivedAt: number }

export interface WebhookOptions {
  path: string;
  secret: string;
  onEvent: (event: WebhookEvent) => void;
  /** GitHub caps payloads at 25 MB; workflow_job deliveries are a few KB, so far less is plenty. */
  maxBodyBytes?: number;
  now?: () => number;
}

export const DEFAULT_MAX_BODY = 1024 * 1024;

function reply(res: ServerResponse, status: number, body: object): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
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
      reply(res, 413, { error: `payload over ${max} bytes` });
      req.resume();
      return true;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        tooLarge = true;
        chunks.length = 0;
      } else if (!tooLarge) chunks.push(chunk);
    });
    req.on('end', () => {
      if (tooLarge) return reply(res, 413, { error: `payload over ${max} bytes` });
      void accept(Buffer.concat(chunks).toString('utf8'));
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
      reply(res, 202, { accepted: deliveryId });
      opts.onEvent({ name, deliveryId, payload, receivedAt });
    };
    return true;
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
