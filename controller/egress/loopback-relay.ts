// The controller's end of a relayed host service: a unix socket per service in a folder mounted into the job's
// gateway, each connection on it carried to where the service listens (this host's loopback, by default). A job
// reaches these services only through its gateway, which listens on their ports on the job's network alone. Any
// service the controller offers jobs this way (a credential broker, say) is one more `connect` here.
import { chmod, mkdir, rm } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';

export interface RelayedService {
  /** The port the job uses at its gateway's address; the socket is `<port>.sock`. */
  port: number;
  /** Opens the service's end; defaults to this host's 127.0.0.1 on the same port. */
  connect?: () => Socket;
}

export interface Relays {
  close(): Promise<void>;
}

/**
 * Serves each service's socket in `dir` (made when missing); `close` stops them and removes the folder. A folder that
 * exists is kept and only its stale sockets replaced: a running gateway has it mounted, and a folder made anew would
 * be one it cannot see (a restarted controller serving a running job's relays again).
 */
export async function serveRelays(dir: string, services: readonly RelayedService[]): Promise<Relays> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  for (const service of services) await rm(join(dir, `${service.port}.sock`), { force: true });
  const servers: Server[] = [];
  const open = new Set<Socket>();
  try {
    for (const service of services) {
      const target = service.connect ?? (() => connect({ host: '127.0.0.1', port: service.port }));
      const server = createServer((client) => {
        const up = target();
        for (const s of [client, up]) {
          open.add(s);
          s.on('close', () => open.delete(s));
        }
        client.on('error', () => up.destroy()).on('close', () => up.destroy());
        up.on('error', () => client.destroy()).on('close', () => client.destroy());
        client.pipe(up).pipe(client);
      });
      servers.push(server);
      const path = join(dir, `${service.port}.sock`);
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen(path, resolve));
      // The gateway runs as nobody; a unix socket is connected to by whoever may write it.
      await chmod(path, 0o666);
    }
  } catch (err) {
    await closeAll(servers, open, dir);
    throw err;
  }
  return { close: () => closeAll(servers, open, dir) };
}

async function closeAll(servers: Server[], open: Set<Socket>, dir: string): Promise<void> {
  for (const s of open) s.destroy();
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  await rm(dir, { recursive: true, force: true });
}
