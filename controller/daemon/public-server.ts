// The port GitHub delivers to, and the only one that faces the internet: the webhook path and /healthz, nothing else.
import { HEALTH_PATHS, healthAnswer } from './health-answer.js';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { WebhookEvent } from '../model/webhook-event.js';
import { limitWebhookServer, webhookHandler, WEBHOOK_SERVER } from './webhook-receiver.js';
import { errorMessage } from '../util/error-message.js';

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
  /** HTTPS from these PEM files (github.webhook.tls); plain HTTP without. */
  tls?: { certFile: string; keyFile: string };
}

export interface PublicServer {
  url: string;
  /** Reads the certificate files again (a renewal) for new connections; a no-op on plain HTTP. */
  reloadTls(): Promise<void>;
  close(): Promise<void>;
}

/** The certificate and key, read as the controller's user; a failure names the config path and the file. */
async function readTls(tls: { certFile: string; keyFile: string }): Promise<{ cert: string; key: string }> {
  const read = (path: string, key: string) =>
    readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new Error(`github.webhook.tls.${key}: cannot read ${path} (${err.code})`);
    });
  return { cert: await read(tls.certFile, 'certFile'), key: await read(tls.keyFile, 'keyFile') };
}

export async function startPublicServer(o: PublicServerOptions): Promise<PublicServer> {
  const onWebhook = webhookHandler({ path: o.path, secret: o.secret, onEvent: (e) => o.onDelivery(e) });
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    if (onWebhook(req, res)) {
      if (o.onWebhookResponse) res.once('finish', () => o.onWebhookResponse!(res.statusCode));
      return;
    }
    const path = req.url ?? '';
    if (req.method === 'GET' && (HEALTH_PATHS as readonly string[]).includes(path)) {
      const answer = healthAnswer(path, o.health());
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not found' }));
  };
  let tlsServer: HttpsServer | undefined;
  if (o.tls) {
    const files = await readTls(o.tls);
    try {
      tlsServer = createHttpsServer({ ...WEBHOOK_SERVER, ...files }, handle);
    } catch (err) {
      throw new Error(`github.webhook.tls: the certificate and key do not make a TLS server (${errorMessage(err)})`);
    }
  }
  // An https server is an http server underneath; the same limits apply. Plain HTTP to it fails the handshake.
  const server: Server = tlsServer ?? createServer(WEBHOOK_SERVER, handle);
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
    url: `${tlsServer ? 'https' : 'http'}://${o.host === '0.0.0.0' ? '127.0.0.1' : o.host}:${address.port}`,
    async reloadTls() {
      if (!tlsServer || !o.tls) return;
      const files = await readTls(o.tls);
      try {
        tlsServer.setSecureContext(files);
      } catch (err) {
        throw new Error(`github.webhook.tls: the renewed certificate and key were not taken (${errorMessage(err)})`);
      }
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
