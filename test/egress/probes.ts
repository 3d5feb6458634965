// What a job tries, as small node programs run inside its container: each prints one JSON line saying what came back.
// A leak is judged by the world's log (world.ts), never by what the probe believes.
import type Docker from 'dockerode';
import { demux } from '../../controller/docker/docker-engine.js';

/** Helpers every probe program starts with: a TCP send, a DNS question over UDP or TCP, a CONNECT, a lookup. */
export const PRELUDE = `
const net = require('node:net'), dgram = require('node:dgram'), dns = require('node:dns'), tls = require('node:tls');
const done = (o) => { process.stdout.write(JSON.stringify(o) + '\\n'); process.exit(0); };
const question = (name, type = 1) => {
  const labels = name.split('.').flatMap((l) => [l.length, ...Buffer.from(l)]);
  return Buffer.from([0x42, 0x42, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, ...labels, 0, 0, type, 0, 1]);
};
function tcp(host, port, payload, wait = 2500) {
  return new Promise((resolve) => {
    let got = '';
    const s = net.connect({ host, port });
    const t = setTimeout(() => { s.destroy(); resolve({ connected: s.readyState === 'open' || got !== '', got, timeout: true }); }, wait);
    s.on('connect', () => s.write(payload));
    s.on('data', (d) => { got += d.toString('latin1'); });
    s.on('error', (e) => { clearTimeout(t); resolve({ error: e.code || e.message, got }); });
    s.on('close', () => { clearTimeout(t); resolve({ closed: true, got }); });
  });
}
function udpDns(server, name, wait = 2500) {
  return new Promise((resolve) => {
    const s = dgram.createSocket(server.includes(':') ? 'udp6' : 'udp4');
    const t = setTimeout(() => { s.close(); resolve({ timeout: true }); }, wait);
    s.on('error', (e) => { clearTimeout(t); resolve({ error: e.code }); });
    s.on('message', (m) => { clearTimeout(t); s.close(); resolve({ rcode: m[3] & 15, answers: m.readUInt16BE(6) }); });
    s.send(question(name), 53, server);
  });
}
async function tcpDns(server, name) {
  const q = question(name);
  const r = await tcp(server, 53, Buffer.concat([Buffer.from([0, q.length]), q]));
  return { ...r, got: r.got.length };
}
function lookup(name) {
  return new Promise((resolve) => dns.lookup(name, { family: 4 }, (e, a) => resolve(e ? { error: e.code } : { address: a })));
}
function connectVia(proxyHost, target, payload) {
  return tcp(proxyHost, 3128, 'CONNECT ' + target + ' HTTP/1.1\\r\\nHost: ' + target + '\\r\\n\\r\\n' + payload);
}
`;

export interface ProbeResult {
  out: string;
  parsed: Record<string, unknown> | undefined;
}

/** Runs `body` (JavaScript after the prelude, ending in done(...)) in `container` as `user`. */
export async function probe(container: Docker.Container, body: string, user = '1000:1000'): Promise<ProbeResult> {
  return runIn(
    container,
    ['node', '-e', `${PRELUDE}\n(async () => { ${body} })().catch((e) => done({ threw: String(e) }));`],
    user,
  );
}

export async function runIn(container: Docker.Container, cmd: string[], user: string): Promise<ProbeResult> {
  const exec = await container.exec({ Cmd: cmd, User: user, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({});
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve());
    stream.on('error', reject);
  });
  const out = demux(Buffer.concat(chunks)).trim();
  const last = out.split('\n').pop() ?? '';
  let parsed: Record<string, unknown> | undefined;
  try {
    parsed = JSON.parse(last) as Record<string, unknown>;
  } catch {
    parsed = undefined;
  }
  return { out, parsed };
}
