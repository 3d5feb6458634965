// The controller's end of a relayed service: each socket carries a connection to the service, and serving a folder
// again (a restarted controller, for a running job) keeps the folder its gateway has mounted and replaces the stale
// sockets in it.
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveRelays } from '../../controller/egress/loopback-relay.js';

const root = mkdtempSync(join(tmpdir(), 'factory-relay-'));
let echo: Server;
let port: number;

beforeAll(async () => {
  echo = createServer((s) => s.pipe(s));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  port = (echo.address() as { port: number }).port;
});
afterAll(() => {
  echo.close();
  rmSync(root, { recursive: true, force: true });
});

const through = (path: string) =>
  new Promise<string>((resolve, reject) => {
    const s = connect({ path }, () => s.write('hello'));
    s.on('data', (d) => {
      resolve(d.toString());
      s.destroy();
    });
    s.on('error', reject);
  });

describe('loopback relays', () => {
  it("carries a connection on a service's socket to the service", async () => {
    const dir = join(root, 'a');
    const relays = await serveRelays(dir, [{ port }]);
    expect(await through(join(dir, `${port}.sock`))).toBe('hello');
    await relays.close();
  });

  it('serves a folder again in place: the same folder, its stale socket replaced', async () => {
    const dir = join(root, 'b');
    mkdirSync(dir);
    // A controller that died left its socket behind, with nothing listening on it.
    writeFileSync(join(dir, `${port}.sock`), '');
    const inode = statSync(dir).ino;
    const relays = await serveRelays(dir, [{ port }]);
    expect(statSync(dir).ino).toBe(inode);
    expect(await through(join(dir, `${port}.sock`))).toBe('hello');
    await relays.close();
  });
});
