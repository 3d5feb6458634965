// A client of the status port that never finishes its request, or holds many connections, is cut off; a reader still
// gets its answer. No Docker: the server is started with fixed sources.
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStatusServer, STATUS_LIMITS, type StatusServer } from '../../controller/status/status-server.js';
import type { StatusSnapshot } from '../../controller/status/status-snapshot.js';

const sources = {
  metrics: async () => ({ contentType: 'text/plain', text: 'factory_up 1\n' }),
  status: () => ({}) as StatusSnapshot,
  job: () => undefined,
};
let server: StatusServer;
// The product's limits, but a headers timeout that passes in a blink: the test waits for the hang-up, not the clock.
let quick: StatusServer;

beforeAll(async () => {
  server = await startStatusServer('127.0.0.1', 0, sources);
  quick = await startStatusServer('127.0.0.1', 0, sources, {
    ...STATUS_LIMITS,
    headersTimeout: 300,
    requestTimeout: 600,
    checkInterval: 100,
  });
});
afterAll(async () => {
  await server.close();
  await quick.close();
});

interface Client {
  socket: Socket;
  closed: boolean;
}
const open = (to: StatusServer = server): Promise<Client> =>
  new Promise((resolve, reject) => {
    const socket = connect(Number(new URL(to.url).port), '127.0.0.1');
    const c: Client = { socket, closed: false };
    socket.on('error', () => {});
    socket.resume(); // read what the server answers, so its hang-up is seen
    socket.on('close', () => (c.closed = true));
    socket.once('connect', () => resolve(c));
    socket.once('error', reject);
  });

const until = async (what: string, ok: () => boolean, ms: number) => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

describe('status server limits', () => {
  it('drops a client whose headers never end, within the headers timeout plus the check interval', async () => {
    const slow = await open(quick);
    slow.socket.write('GET /status HTTP/1.1\r\nHost: factory\r\n');
    await until('the slow client to be dropped', () => slow.closed, 15_000);
    expect(slow.closed).toBe(true);
  }, 20_000);

  it('hangs up on connections past the cap and still answers a reader once they go', async () => {
    const held = await Promise.all(Array.from({ length: STATUS_LIMITS.maxConnections + 8 }, () => open()));
    await until('connections past the cap to be dropped', () => held.filter((c) => c.closed).length >= 8, 15_000);
    expect(held.filter((c) => !c.closed).length).toBeLessThanOrEqual(STATUS_LIMITS.maxConnections);
    for (const c of held) c.socket.destroy();
    await new Promise((r) => setTimeout(r, 200));
    const res = await fetch(`${server.url}/metrics`);
    expect(await res.text()).toContain('factory_up 1');
  }, 20_000);
});
