// The "outside world" of the egress tests: one container on a network the test creates, reachable under any name
// ending in .test (it is also the resolver the gateway asks), logging every connection, datagram and DNS question it
// gets as a JSON line, so a test can tell whether a marker left the job. It never reaches anything itself.
import type Docker from 'dockerode';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demux } from '../../controller/docker/docker-engine.js';

/** Ports the world listens on over TCP; 53 also over UDP. */
export const WORLD_PORTS = [22, 53, 80, 443, 8443, 9999];

const WORLD_JS = `
const net = require('node:net'), dgram = require('node:dgram'), os = require('node:os');
const me = Object.values(os.networkInterfaces()).flat().find((a) => a.family === 'IPv4' && !a.internal).address;
const log = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
const text = (b) => b.toString('latin1');
function dnsAnswer(q) {
  let at = 12; const labels = [];
  while (at < q.length && q[at] !== 0) { labels.push(text(q.subarray(at + 1, at + 1 + q[at]))); at += 1 + q[at]; }
  const end = at + 5; const type = q.readUInt16BE(at + 1);
  const head = Buffer.from(q.subarray(0, end)); head.writeUInt16BE(0x8180, 2); head.writeUInt16BE(type === 1 ? 1 : 0, 6);
  const rr = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4, ...me.split('.').map(Number)]);
  return { name: labels.join('.'), out: type === 1 ? Buffer.concat([head, rr]) : head };
}
for (const port of ${JSON.stringify(WORLD_PORTS)}) {
  net.createServer((s) => {
    let seen = Buffer.alloc(0);
    s.on('error', () => {});
    s.on('data', (d) => {
      seen = Buffer.concat([seen, d]);
      if (port === 53 && seen.length >= 2 && seen.length >= 2 + seen.readUInt16BE(0)) {
        const { name, out } = dnsAnswer(seen.subarray(2, 2 + seen.readUInt16BE(0)));
        log({ kind: 'dns-tcp', name, from: s.remoteAddress });
        s.end(Buffer.concat([Buffer.from([out.length >> 8, out.length & 255]), out]));
        return;
      }
      log({ kind: 'tcp', port, from: s.remoteAddress, bytes: text(seen).slice(0, 600) });
      if (/^[A-Z]+ \\S+ HTTP\\/1\\.[01]\\r\\n[\\s\\S]*\\r\\n\\r\\n/.test(text(seen)))
        s.end('HTTP/1.1 200 OK\\r\\nContent-Type: text/plain\\r\\nContent-Length: 6\\r\\nConnection: close\\r\\n\\r\\nworld\\n');
    });
  }).listen(port, '::');
}
const udp = dgram.createSocket({ type: 'udp6' });
udp.on('message', (m, r) => {
  try { const { name, out } = dnsAnswer(m); log({ kind: 'dns-udp', name, from: r.address }); udp.send(out, r.port, r.address); }
  catch { log({ kind: 'udp', bytes: text(m) }); }
});
udp.bind(53, '::', () => log({ kind: 'ready', address: me }));
`;

export interface World {
  network: string;
  ipv4: string;
  ipv6: string;
  /** The host's address on the world's network (its bridge), which a job outside any egress reaches. */
  bridgeGateway: string;
  /** Everything the world logged so far that contains `marker`. */
  seen(marker: string): Promise<string[]>;
  remove(): Promise<void>;
}

/** Aliases the world answers to on its network (and, as the resolver, any name ending in .test). */
export const WORLD_ALIASES = ['api.anthropic.test', 'pastebin.test', 'dns.google.test'];

export async function startWorld(
  docker: Docker,
  prefix: string,
  image: string,
  labels: Record<string, string>,
): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-world-`));
  chmodSync(dir, 0o755); // the world runs as nobody
  writeFileSync(join(dir, 'world.cjs'), WORLD_JS, { mode: 0o644 });
  const name = `${prefix}-world`;
  const suffix = Math.floor(Math.random() * 0xffff).toString(16);
  const network = await docker.createNetwork({
    Name: name,
    Driver: 'bridge',
    EnableIPv6: true,
    IPAM: { Config: [{ Subnet: `fd00:fac7:${suffix}::/64` }] },
    Labels: labels,
  });
  const container = await docker
    .createContainer({
      name,
      Image: image,
      User: '65534:65534',
      Entrypoint: ['node'],
      Cmd: ['/world/world.cjs'],
      Labels: labels,
      HostConfig: {
        NetworkMode: name,
        Sysctls: { 'net.ipv4.ip_unprivileged_port_start': '0' },
        Mounts: [{ Type: 'bind', Source: dir, Target: '/world', ReadOnly: true }],
      },
      NetworkingConfig: { EndpointsConfig: { [name]: { Aliases: WORLD_ALIASES } } },
    })
    .catch(async (err: unknown) => {
      await network.remove().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
      throw err;
    });
  const remove = async () => {
    await container.remove({ force: true }).catch(() => {});
    await network.remove().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  };
  const logs = async () => demux((await container.logs({ stdout: true, stderr: true })) as unknown as Buffer);
  try {
    await container.start();
    for (let i = 0; !(await logs()).includes('"ready"'); i++) {
      if (i === 300) throw new Error(`the world did not start: ${await logs()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    // A world that never came up is removed here: the caller has no World to remove.
    await remove();
    throw err;
  }
  const net = (await container.inspect()).NetworkSettings.Networks[name]!;
  return {
    network: name,
    ipv4: net.IPAddress,
    ipv6: net.GlobalIPv6Address,
    bridgeGateway: net.Gateway,
    async seen(marker) {
      return (await logs()).split('\n').filter((l) => l.includes(marker));
    },
    remove,
  };
}
