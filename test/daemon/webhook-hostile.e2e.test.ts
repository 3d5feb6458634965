// Item 6 of the tier boundary: `factory controller` as a real process, its webhook port under hostile traffic from
// loopback. Big unsigned bodies are refused before they are read, slow clients are cut off within seconds, the
// connection count is capped, memory stays flat, and a real delivery still gets through.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { sign } from '@octokit/webhooks-methods';
import { GitHubStandin } from '../../controller/github/standin/github-standin.js';
import { STANDIN_IMAGE } from '../../controller/commands/demo.js';
import { CI_LABELS, uniqueRepo, waitFor } from '../support/harness.js';

const secret = 'hostile-test-webhook-secret';
let dir: string;
let github: GitHubStandin;
let child: ChildProcess;
let port: number;
const MiB = 1024 * 1024;
// Growth allowed in the controller's RSS: half of what holding the 200 big bodies would take, with room for the GC
// and the JIT of a loaded machine (48 MiB was crossed at load average 20 without any body held).
const RSS_GROWTH_LIMIT_MIB = 96;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'factory-hostile-'));
  github = new GitHubStandin({ jobSeconds: 1 });
  await github.start();
  const configFile = join(dir, 'factory.yml');
  writeFileSync(
    configFile,
    stringify({
      github: {
        apiUrl: github.url,
        auth: { tokenEnv: 'HOSTILE_GH_TOKEN' },
        webhook: { host: '127.0.0.1', port: 0, secret: { env: 'HOSTILE_WEBHOOK_SECRET' } },
      },
      instance: `hostile-${process.pid}`,
      stateDir: join(dir, 'state'),
      status: { port: 0 },
      reconcileInterval: '1h',
      profiles: { ci: { labels: CI_LABELS, image: STANDIN_IMAGE, memory: '64m' } },
      repos: [{ repo: uniqueRepo('hostile'), profiles: ['ci'] }],
    }),
  );
  // The built CLI, as an operator runs it: the pid measured is the server's own.
  child = spawn(process.execPath, ['bin/factory.js', 'controller', '--config', configFile], {
    env: {
      ...process.env,
      HOSTILE_GH_TOKEN: 'ghs_hostiletoken',
      HOSTILE_WEBHOOK_SECRET: secret,
      FACTORY_LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  const url = await waitFor(
    'the controller to listen',
    () => /"url":"http:\/\/127\.0\.0\.1:(\d+)","path":"\/webhook"/.exec(out)?.[1],
    30_000,
  );
  port = Number(url);
}, 60_000);

afterAll(async () => {
  child?.kill('SIGTERM');
  await new Promise((r) => child?.once('exit', r));
  await github.stop();
  rmSync(dir, { recursive: true, force: true });
});

const rss = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]) * 1024;

interface Client {
  socket: Socket;
  answer: string;
  closedAt?: number;
}
/** A raw connection that records what the server answers and when it hangs up. */
function client(): Promise<Client> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const c: Client = { socket, answer: '' };
    socket.on('data', (d) => (c.answer += d.toString()));
    socket.on('error', () => {});
    socket.on('close', () => (c.closedAt = Date.now()));
    socket.once('connect', () => resolve(c));
    socket.once('error', reject);
  });
}
const post = (length: number) =>
  `POST /webhook HTTP/1.1\r\nHost: factory\r\nContent-Type: application/json\r\nX-GitHub-Event: workflow_job\r\nX-GitHub-Delivery: d\r\nContent-Length: ${length}\r\n\r\n`;

async function signedPing(): Promise<number> {
  const body = JSON.stringify({ zen: 'Keep it logically awesome.', hook_id: 1 });
  const res = await fetch(`http://127.0.0.1:${port}/webhook`, {
    method: 'POST',
    body,
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'ping',
      'x-github-delivery': `ping-${Date.now()}`,
      'x-hub-signature-256': await sign(secret, body),
    },
    signal: AbortSignal.timeout(3_000),
  });
  return res.status;
}

describe('the webhook port under hostile traffic', () => {
  it('refuses 200 unsigned 1023 KiB bodies up front and holds no memory for them', async () => {
    const before = rss();
    const clients: Client[] = [];
    const body = Buffer.alloc(1023 * 1024 - 1, 0x61);
    for (let i = 0; i < 200; i++) {
      const c = await client();
      c.socket.write(post(1023 * 1024));
      c.socket.write(body); // all but the last byte: the body is never finished
      clients.push(c);
    }
    await waitFor(
      'every big body to be refused and its connection dropped',
      () => clients.every((c) => c.closedAt !== undefined),
      10_000,
    );

    expect(clients.filter((c) => c.answer.startsWith('HTTP/1.1 413')).length).toBeGreaterThan(190);
    expect((rss() - before) / MiB).toBeLessThan(RSS_GROWTH_LIMIT_MIB);
    expect(await signedPing()).toBe(202);
  });

  it('cuts off 150 slow clients within seconds while a real delivery still gets through, memory flat', async () => {
    const before = rss();
    const opened = Date.now();
    const slow: Client[] = [];
    for (let i = 0; i < 100; i++) {
      const c = await client();
      c.socket.write('POST /webhook HTTP/1.1\r\nHost: factory\r\n'); // headers that never end
      slow.push(c);
    }
    for (let i = 0; i < 50; i++) {
      const c = await client();
      c.socket.write(post(60_000) + 'x'.repeat(1000)); // a body under the cap that never completes
      slow.push(c);
    }
    let peak = rss();
    for (let tick = 0; tick < 5; tick++) {
      await new Promise((r) => setTimeout(r, 500));
      for (const c of slow) if (c.closedAt === undefined) c.socket.write('X-Drip: 1\r\n'.slice(0, 1)); // a byte now and then
      peak = Math.max(peak, rss());
    }
    expect(await signedPing()).toBe(202);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(3_000) })).status).toBe(200);

    await waitFor('the server to drop every slow client', () => slow.every((c) => c.closedAt !== undefined), 20_000);
    const slowest = Math.max(...slow.map((c) => c.closedAt! - opened));
    expect(slowest).toBeLessThan(14_000); // requestTimeout 10 s plus the 1 s check, not Node's 300 s
    expect((peak - before) / MiB).toBeLessThan(RSS_GROWTH_LIMIT_MIB);
  }, 40_000);

  it('caps connections: past the cap the server hangs up at once', async () => {
    const idle: Client[] = [];
    for (let i = 0; i < 300; i++) idle.push(await client());
    await waitFor(
      'connections past the cap to be dropped',
      () => idle.filter((c) => c.closedAt !== undefined).length >= 300 - 256,
      5_000,
    );
    expect(idle.filter((c) => c.closedAt !== undefined).length).toBeLessThanOrEqual(300 - 256 + 5);
    for (const c of idle) c.socket.destroy();
    await waitFor(
      'a delivery to get through after the flood',
      async () => (await signedPing().catch(() => 0)) === 202,
      15_000,
    );
  }, 30_000);
});
