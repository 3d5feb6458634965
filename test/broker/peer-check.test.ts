// Who opened a loopback connection, read off Linux's tables: this process's own connections and another's.
import { execFile } from 'node:child_process';
import net, { type AddressInfo } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { openedByThisProcess } from '../../controller/broker/peer-check.js';

let server: net.Server | undefined;
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A loopback server whose next accepted connection is handed to `check`, with what it resolved to. */
async function checking(check: (socket: net.Socket) => Promise<boolean>) {
  let result!: Promise<boolean>;
  const accepted = new Promise<void>((resolve) => {
    server = net.createServer({ pauseOnConnect: true }, (socket) => {
      sockets.push(socket);
      result = check(socket);
      resolve();
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { port: (server!.address() as AddressInfo).port, verdict: () => accepted.then(() => result) };
}

it('knows a connection this process opened as its own', async () => {
  const { port, verdict } = await checking(openedByThisProcess);
  sockets.push(net.connect(port, '127.0.0.1').on('error', () => {}));
  expect(await verdict()).toBe(true);
});

it('knows its own connection still when the server closes its end mid-check, as a broker closing does', async () => {
  const { port, verdict } = await checking((socket) => {
    const check = openedByThisProcess(socket);
    socket.destroy();
    return check;
  });
  // Half-open allowed: the client keeps its end when the server closes its own, so its socket stays in the tables.
  sockets.push(net.connect({ port, host: '127.0.0.1', allowHalfOpen: true }).on('error', () => {}));
  expect(await verdict()).toBe(true);
});

it("does not take another process's connection for its own", async () => {
  const { port, verdict } = await checking(openedByThisProcess);
  // Held open until the verdict: the other process's socket is in the table, just not among this process's.
  const other = execFile(process.execPath, [
    '-e',
    `require('node:net').connect(${port}, '127.0.0.1').on('error', () => {}); setTimeout(() => {}, 10_000)`,
  ]);
  try {
    expect(await verdict()).toBe(false);
  } finally {
    other.kill();
  }
});
