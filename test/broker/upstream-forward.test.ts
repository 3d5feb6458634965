// The one way every broker forwards: a loopback client, a forward built from upstream-forward.ts as the brokers build
// theirs, and a loopback upstream. Either side going away ends the other, and an upstream never reached is a refusal
// that says where.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { forwardFailed, sendUpstream, streamAnswer } from '../../controller/broker/upstream-forward.js';

const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function listen(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A forward to `upstream`, as the brokers make theirs: the client's stream sent on, refusals as JSON. */
const forwardTo = (upstream: string) =>
  listen((req, res) => {
    const refuse = (r: http.ServerResponse, status: number, message: string) =>
      r.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ message }));
    sendUpstream(new URL(`${upstream}${req.url}`), req, res, {}, req)
      .then((up) => streamAnswer(up, res))
      .catch((err: Error) => forwardFailed(req, res, refuse, 502, `broker: ${err.message}`));
  });

describe('upstream forward', () => {
  it("streams the upstream's headers at once, before any of its body", async () => {
    let finish = () => {};
    const upstream = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' }).flushHeaders();
      finish = () => res.end('data: done\n\n');
    });
    const [res] = (await once(http.get(`${await forwardTo(upstream)}/sse`), 'response')) as [http.IncomingMessage];
    expect(res.headers['content-type']).toBe('text/event-stream');
    finish();
    res.setEncoding('utf8');
    let body = '';
    for await (const chunk of res) body += chunk;
    expect(body).toBe('data: done\n\n');
  });

  it("cuts the client's connection when the upstream breaks off mid-answer", async () => {
    const upstream = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: first\n\n', () => res.socket?.destroy());
    });
    const [res] = (await once(http.get(`${await forwardTo(upstream)}/sse`), 'response')) as [http.IncomingMessage];
    const outcome = await new Promise((resolve) => {
      res.on('end', () => resolve('ended')).on('error', (err) => resolve(err.message));
      res.resume();
    });
    expect(outcome).toBe('aborted');
  });

  it('stops the upstream request when the client goes away', async () => {
    let upstreamClosed: Promise<unknown> = new Promise(() => {});
    const upstream = await listen((_req, res) => {
      upstreamClosed = once(res, 'close');
      res.writeHead(200, { 'content-type': 'text/event-stream' }).flushHeaders();
    });
    const client = http.get(`${await forwardTo(upstream)}/sse`);
    await once(client, 'response');
    client.destroy();
    await upstreamClosed;
  });

  it('refuses with 502 naming the cause when the upstream cannot be reached', async () => {
    const gone = await listen(() => {});
    servers.pop()!.close();
    const res = await fetch(`${await forwardTo(gone)}/x`);
    expect(res.status).toBe(502);
    expect(((await res.json()) as { message: string }).message).toMatch(/^broker: connect ECONNREFUSED/);
  });
});
