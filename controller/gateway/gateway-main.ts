// The egress gateway: the one program between a lane's internal network and the world, run in its own container
// (egress-plan.ts). Node's own net, http and dgram carry the bytes; the decisions are egress-policy.ts. It binds only
// its address on the lane's network, so nothing on its upstream network can use it (or its relays), and it reports
// each refusal as one JSON line on stdout, which the controller reads into the job's timeline.
import { createSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { connect, createServer, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { answer, formatError, parseQuery, RCODE, TYPE_A } from './dns-message.js';
import { decide, DNS_PORT, forbiddenAddress, PROXY_PORT, REFUSALS_PATH, REFUSAL_KINDS } from './egress-policy.js';
import { resolvable, transparentPorts } from './egress-policy.js';
import type { EgressPolicy } from './egress-policy.js';
import { PEEK_LIMIT, peekHost } from './first-bytes.js';

interface GatewaySettings {
  policy: EgressPolicy;
  /** The lane network's subnet ("172.19.0.0/16"): the gateway's own address there is the one it serves on. */
  subnet: string;
  /** Where the controller's relay sockets are mounted, one `<port>.sock` per loopback service. */
  relayDir: string;
}

const settings = JSON.parse(process.env.FACTORY_EGRESS ?? '{}') as GatewaySettings;
const policy = settings.policy;
const address = ownAddress(settings.subnet);
const IDLE_MS = 10 * 60_000;

type Kind = 'dns' | 'connect' | 'http' | 'tls' | 'plain';
// What was refused, per destination, for the lane's own report (REFUSALS_PATH). Bounded: a job that tries thousands
// of names keeps the first REFUSAL_KINDS destinations counted and the rest as a number.
const tally = new Map<string, { host: string; port: number; count: number; first: string }>();
let untallied = 0;
function report(kind: Kind, host: string, port: number, reason: string): void {
  const line = { event: 'refused', kind, host: host.slice(0, 255), port, reason, time: new Date().toISOString() };
  process.stdout.write(`${JSON.stringify(line)}\n`);
  const key = `${line.host}:${port}`;
  const seen = tally.get(key);
  if (seen) seen.count += 1;
  else if (tally.size < REFUSAL_KINDS) tally.set(key, { host: line.host, port, count: 1, first: line.time });
  else untallied += 1;
}
const refusals = () =>
  JSON.stringify({ blocked: [...tally.values()].sort((a, b) => b.count - a.count), more: untallied });

// Answers of the upstream resolver, kept briefly: a lookup through Docker's embedded resolver costs more than the
// rest of a proxied request. Only allowed names are ever looked up, so the cache cannot be filled by the job.
const CACHE_MS = 30_000;
const resolved = new Map<string, { until: number; all: Promise<{ address: string; family: number }[]> }>();
function resolve(host: string): Promise<{ address: string; family: number }[]> {
  const hit = resolved.get(host);
  if (hit && hit.until > Date.now()) return hit.all;
  const all = lookup(host, { all: true }).then((list) => list.filter((a) => !forbiddenAddress(a.address)));
  resolved.set(host, { until: Date.now() + CACHE_MS, all });
  all.catch(() => resolved.delete(host));
  return all;
}

/** Opens `host:port` for the lane once the policy allows it and the name leads to no forbidden address. */
async function upstream(host: string, port: number): Promise<Socket> {
  const addresses = (await resolve(host)).map((a) => a.address);
  if (addresses.length === 0) throw new Error(`${host} resolves to no address the gateway may reach`);
  return new Promise((resolve, reject) => {
    const s = connect({ host: addresses[0]!, port });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

function splice(a: Socket, b: Socket): void {
  a.setTimeout(IDLE_MS, () => a.destroy());
  a.on('error', () => b.destroy()).on('close', () => b.destroy());
  b.on('error', () => a.destroy()).on('close', () => a.destroy());
  a.pipe(b).pipe(a);
}

/** Resolves once the server listens on the gateway's address; a port that cannot be bound stops the gateway. */
function listening(
  server: { listen(port: number, host: string): unknown; once(e: string, f: (...a: unknown[]) => void): unknown },
  port: number,
): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('listening', () => resolve());
    server.once('error', reject);
    server.listen(port, address);
  });
}

function serveDns(): Promise<unknown> {
  const respond = (msg: Buffer): Uint8Array | undefined => {
    const q = parseQuery(msg);
    if (!q) return formatError(msg);
    if (!resolvable(policy, q.name)) {
      report('dns', q.name, DNS_PORT, 'name not allowed');
      return answer(msg, q, RCODE.nxDomain);
    }
    // Allowed names resolve to the gateway itself; other types (AAAA included) have no data, so clients use IPv4.
    return answer(msg, q, RCODE.noError, q.type === TYPE_A && q.qclass === 1 ? address : undefined);
  };
  const udp = createSocket('udp4');
  udp.on('message', (msg, from) => {
    const out = respond(msg);
    if (out) udp.send(out, from.port, from.address);
  });
  const bound = new Promise<void>((resolve, reject) => {
    udp.once('listening', resolve).once('error', reject);
    udp.bind(DNS_PORT, address);
  });
  const tcp = createServer((s) => {
    s.setTimeout(30_000, () => s.destroy());
    let buf = Buffer.alloc(0);
    s.on('error', () => s.destroy());
    s.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const out = respond(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
        if (out) s.write(Buffer.concat([Buffer.from([out.length >> 8, out.length & 0xff]), out]));
      }
    });
  });
  return Promise.all([bound, listening(tcp, DNS_PORT)]);
}

function serveProxy(): Promise<void> {
  const server = createHttpServer((req, res) => {
    // Plain HTTP through the proxy: the request line carries an absolute URL.
    if (req.method === 'GET' && req.url === REFUSALS_PATH) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(refusals());
      return;
    }
    let url: URL;
    try {
      url = new URL(req.url ?? '');
    } catch {
      res.writeHead(400).end('factory egress: send absolute URLs to this proxy\n');
      return;
    }
    const port = Number(url.port || 80);
    const verdict =
      url.protocol === 'http:'
        ? decide(policy, url.hostname, port)
        : { allowed: false as const, reason: 'only http:// is proxied' };
    if (!verdict.allowed) {
      report('http', url.hostname, port, verdict.reason);
      res.writeHead(403).end(`factory egress: ${url.hostname}:${port} is not allowed (${verdict.reason})\n`);
      return;
    }
    const out = httpRequest(
      {
        host: url.hostname,
        port,
        path: `${url.pathname}${url.search}`,
        method: req.method,
        headers: req.headers,
        lookup: safeLookup,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    out.on('error', (err) => res.writeHead(502).end(`factory egress: ${err.message}\n`));
    req.pipe(out);
  });
  server.on('connect', (req, client: Socket, head: Buffer) => {
    const m = /^(.+):(\d+)$/.exec(req.url ?? '');
    const host = m?.[1] ?? req.url ?? '';
    const port = Number(m?.[2] ?? 0);
    const verdict = m ? decide(policy, host, port) : { allowed: false as const, reason: 'expected host:port' };
    client.on('error', () => client.destroy());
    if (!verdict.allowed) {
      report('connect', host, port, verdict.reason);
      client.end(`HTTP/1.1 403 Forbidden\r\n\r\nfactory egress: ${host}:${port} is not allowed (${verdict.reason})\n`);
      return;
    }
    upstream(host, port).then(
      (up) => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        if (head.length > 0) up.write(head);
        splice(client, up);
      },
      (err: Error) => client.end(`HTTP/1.1 502 Bad Gateway\r\n\r\nfactory egress: ${err.message}\n`),
    );
  });
  return listening(server, PROXY_PORT);
}

/** A lane that ignores the proxy variables reaches an allowed name's address (the gateway) on its port directly. */
function serveTransparent(port: number): Promise<void> {
  const server = createServer((client) => {
    let buf = Buffer.alloc(0);
    client.setTimeout(10_000, () => client.destroy());
    client.on('error', () => client.destroy());
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]).subarray(0, PEEK_LIMIT);
      const peek = peekHost(buf);
      if (peek.kind === 'more') return;
      client.off('data', onData);
      client.pause();
      if (peek.kind === 'none') {
        report('plain', '', port, peek.reason);
        client.destroy();
        return;
      }
      const verdict = decide(policy, peek.host, port);
      if (!verdict.allowed) {
        report(peek.protocol, peek.host, port, verdict.reason);
        client.destroy();
        return;
      }
      upstream(peek.host, port).then(
        (up) => {
          up.write(buf);
          splice(client, up);
          client.resume();
        },
        () => client.destroy(),
      );
    };
    client.on('data', onData);
  });
  return listening(server, port);
}

/** A loopback service of the controller's host, through the socket the controller serves for it. */
function serveRelay(port: number): Promise<void> {
  const server = createServer((client) => {
    client.on('error', () => client.destroy());
    const up = connect({ path: `${settings.relayDir}/${port}.sock` });
    up.once('connect', () => splice(client, up));
    up.once('error', () => client.destroy());
  });
  return listening(server, port);
}

function safeLookup(
  host: string,
  opts: object,
  cb: (err: Error | null, address: string | { address: string; family: number }[], family?: number) => void,
): void {
  resolve(host).then(
    (ok) => {
      if (ok.length === 0) cb(new Error(`${host} resolves to no address the gateway may reach`), '');
      else if ((opts as { all?: boolean }).all) cb(null, ok);
      else cb(null, ok[0]!.address, ok[0]!.family);
    },
    (err: Error) => cb(err, ''),
  );
}

function ownAddress(subnet: string): string {
  const [base = '', bits = '32'] = subnet.split('/');
  const toInt = (ip: string) => ip.split('.').reduce((n, o) => (n << 8) + Number(o), 0) >>> 0;
  const mask = Number(bits) === 0 ? 0 : (~0 << (32 - Number(bits))) >>> 0;
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? [])
      if (a.family === 'IPv4' && (toInt(a.address) & mask) >>> 0 === (toInt(base) & mask) >>> 0) return a.address;
  throw new Error(`factory egress: no address of this container is in ${subnet}`);
}

await Promise.all([
  serveDns(),
  serveProxy(),
  ...transparentPorts(policy).map(serveTransparent),
  ...policy.loopback.map(serveRelay),
]);
process.stdout.write(`${JSON.stringify({ event: 'ready', address })}\n`);
