// The TCP sockets a process listens on, read from /proc as `ss -ltnp` does: the socket inodes among its open files,
// matched against its network namespace's TCP tables in the LISTEN state. Linux only, as the tests' engine is.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface ListeningSocket {
  /** The local address as the kernel writes it: 127.0.0.1 for IPv4, the raw hex for IPv6. */
  address: string;
  port: number;
}

const LISTEN = '0A';

function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed between the listing and the read
    }
  }
  return inodes;
}

const ipv4 = (hex: string) =>
  (hex.match(/../g) ?? [])
    .reverse()
    .map((b) => parseInt(b, 16))
    .join('.');

export function listeningSockets(pid: number): ListeningSocket[] {
  const inodes = socketInodes(pid);
  return ['tcp', 'tcp6'].flatMap((table) =>
    readFileSync(`/proc/${pid}/net/${table}`, 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.trim().split(/\s+/))
      .filter((f) => f[3] === LISTEN && inodes.has(f[9]!))
      .map((f) => {
        const [hex, port] = f[1]!.split(':') as [string, string];
        return { address: table === 'tcp' ? ipv4(hex) : hex, port: parseInt(port, 16) };
      }),
  );
}
