// How every broker carries a request it decided to forward (the model's, an MCP server's, gh's): sent upstream on the
// keep-alive pool with the headers its route built, and the answer streamed back as it comes, so an SSE stream reaches
// the client event by event. Either side going away ends the other: a client that leaves stops the upstream request,
// an upstream that breaks off cuts the client's connection rather than leaving it waiting for an end that never comes.
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { responseHeaders } from './broker-route.js';

// Keep-alive connections to the providers, MCP servers and GitHub's API, one pool per protocol for every job's broker.
const agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };

export type Refuse = (res: http.ServerResponse, status: number, message: string) => void;

/**
 * Sends `req`'s method to `target` with `headers` and `body`: a body held whole (its length set), or the client's
 * stream as it comes. Resolves with the answer's head; an error before it rejects, one after it cuts `res`.
 */
export function sendUpstream(
  target: URL,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  headers: Record<string, string>,
  body: Buffer | Readable,
): Promise<http.IncomingMessage> {
  if (Buffer.isBuffer(body)) headers = { ...headers, 'content-length': String(body.length) };
  return new Promise((resolve, reject) => {
    let answered = false;
    const secure = target.protocol === 'https:';
    const out = (secure ? https : http).request(
      target,
      { method: req.method, headers, agent: secure ? agents.https : agents.http },
      (up) => {
        answered = true;
        resolve(up);
      },
    );
    out.on('error', (err) => (answered ? res.destroy() : reject(err)));
    res.on('close', () => {
      if (!res.writableFinished) out.destroy();
    });
    if (Buffer.isBuffer(body)) out.end(body);
    else body.pipe(out);
  });
}

/** Passes the upstream's answer back: its status and headers at once, then its body as it comes. */
export function streamAnswer(up: http.IncomingMessage, res: http.ServerResponse): void {
  res.writeHead(up.statusCode ?? 502, responseHeaders(up.headers));
  res.flushHeaders(); // an SSE stream may stay silent a while: the client learns it is open now
  up.on('error', () => res.destroy());
  up.pipe(res);
  res.on('close', () => up.destroy());
}

/** A forward that failed: refused with `status` while nothing was answered yet, else the connection is cut. */
export function forwardFailed(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  refuse: Refuse,
  status: number,
  message: string,
): void {
  req.resume(); // what is left of the request is read and dropped, so the connection can carry the refusal
  if (res.headersSent) res.destroy();
  else refuse(res, status, message);
}
