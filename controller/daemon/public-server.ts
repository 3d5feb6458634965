// The port GitHub delivers to, and the only one that faces the internet: the webhook path and /healthz, nothing else.
import { createServer, type Server } from 'node:http';
import { limitWebhookServer, webhookHandler, WEBHOOK_SERVER, type WebhookEvent } from './webhook-receiver.js';

export interface PublicServerOptions {
  host: string;
  port: number;
  path: string;
  secret: string;
  /** A verified delivery; returns a message when its payload is malformed. */
  onDelivery(event: WebhookEvent): string | void;
  /**
   * `github` is GitHub's state as the client's calls found it: ok, degraded, down or unknown (not yet answered), never
   * its error text.
   */
  health(): { dockerUp: boolean; github: string; queued: number; running: number };
  /** The status code each webhook delivery was answered with (the metrics count deliveries by outcome). */
  onWebhookResponse?(status: number): void;
}

export interface PublicServer {
  url: string;
  close(): Promise<void>;
}

export async function startPublicServer(o: PublicServerOptions): Promise<PublicServer> {
  const onWebhook = webhookHandler({ path: o.path, secret: o.secret, onEvent: (e) => o.onDelivery(e) });
  const server: Server = createServer(WEBHOOK_SERVER, (req, res) => {
    if (onWebhook(req, res)) {
      if (o.onWebhookResponse) res.once('finish', () => o.onWebhookResponse!(res.statusCode));
      return;
    }
    if (req.method === 'GET' && req.url === '/healthz') {
      const h = o.health();
      // Unknown (GitHub not yet answered) is not a fault.
      const healthy = h.dockerUp && (h.github === 'ok' || h.github === 'unknown');
      res.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' });
      // No lastError here: this port faces the internet, and errors name hosts' paths. The loopback status endpoint
      // has it.
      res.end(
        JSON.stringify({
          status: healthy ? 'ok' : 'degraded',
          docker: h.dockerUp ? 'up' : 'down',
          github: h.github,
          queued: h.queued,
          running: h.running,
        }),
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not found' }));
  });
  limitWebhookServer(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(
        new Error(`github.webhook.port: cannot listen on ${o.host}:${o.port} (${(err as NodeJS.ErrnoException).code})`),
      ),
    );
    server.listen(o.port, o.host, resolve);
  });
  const address = server.address() as { port: number };
  return {
    url: `http://${o.host === '0.0.0.0' ? '127.0.0.1' : o.host}:${address.port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
