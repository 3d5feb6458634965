// Whether a loopback connection was opened by this very process. A job behind egress reaches its broker only through
// its gateway's relay, which the controller itself serves: the relay's socket is the controller's, so a connection
// from any other process on the host (a host-network container holding a stolen placeholder) is not, and is closed.
// Linux's own tables say who holds a socket: /proc/net/tcp maps the peer's address to an inode, /proc/self/fd lists
// the inodes this process holds.
import { readdir, readFile, readlink } from 'node:fs/promises';
import type { Socket } from 'node:net';

const hexPort = (port: number) => port.toString(16).toUpperCase().padStart(4, '0');
/** 127.0.0.1 as /proc/net/tcp writes it (little-endian). */
const LOOPBACK_HEX = '0100007F';

/** The inode of the socket whose local end is `from` and remote end is `to`, both on 127.0.0.1. */
export function socketInode(table: string, from: number, to: number): string | undefined {
  const local = `${LOOPBACK_HEX}:${hexPort(from)}`;
  const remote = `${LOOPBACK_HEX}:${hexPort(to)}`;
  for (const line of table.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] === local && f[2] === remote) return f[9];
  }
  return undefined;
}

export async function openedByThisProcess(socket: Socket): Promise<boolean> {
  // Read before the first await: a socket closed meanwhile (its broker closing at the job's end) has no local port.
  const { remoteAddress, remotePort, localPort } = socket;
  if (remoteAddress !== '127.0.0.1' || !remotePort || !localPort) return false;
  const table = await readFile('/proc/net/tcp', 'utf8').catch(() => '');
  const inode = socketInode(table, remotePort, localPort);
  if (!inode || inode === '0') return false;
  const want = `socket:[${inode}]`;
  for (const fd of await readdir('/proc/self/fd').catch(() => [] as string[]))
    if ((await readlink(`/proc/self/fd/${fd}`).catch(() => '')) === want) return true;
  return false;
}
