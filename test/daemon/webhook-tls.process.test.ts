// The webhook port over HTTPS (github.webhook.tls): GitHub's signed delivery is accepted over TLS with a throwaway
// CA's certificate, plain HTTP gets no answer, and a renewed certificate is served after a reload without a restart.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sign } from '@octokit/webhooks-methods';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPublicServer, type PublicServer } from '../../controller/daemon/public-server.js';
import type { WebhookEvent } from '../../controller/model/webhook-event.js';
import { configSchema } from '../../controller/config/config.js';
import { throwawayCa, type ThrowawayCa } from '../support/throwaway-ca.js';
import { webhookExample } from '../support/webhook-examples.js';
import { spawnFactory } from '../support/factory-source.js';

const SECRET = 'tls-webhook-secret-0123456789abcdef';
let ca: ThrowawayCa;
let server: PublicServer;
let certFile: string;
let keyFile: string;
const events: WebhookEvent[] = [];

const start = (tls: { certFile: string; keyFile: string }) =>
  startPublicServer({
    host: '127.0.0.1',
    port: 0,
    path: '/webhook',
    secret: SECRET,
    tls,
    onDelivery: (e) => void events.push(e),
    health: () => ({ dockerUp: true, github: 'ok', queued: 0, running: 0 }),
  });

beforeAll(async () => {
  ca = throwawayCa();
  // Files of their own, so the renewal below can overwrite them in place as certbot or an ACME client would.
  certFile = join(ca.dir, 'webhook.pem');
  keyFile = join(ca.dir, 'webhook.key');
  copyFileSync(ca.certFile, certFile);
  copyFileSync(ca.keyFile, keyFile);
  server = await start({ certFile, keyFile });
});
afterAll(async () => {
  await server?.close();
  ca?.remove();
});

interface Answer {
  status: number;
  body: string;
  serial: string;
}

/** One request on a new connection (no keep-alive), trusting only the throwaway CA. */
function send(url: string, method: string, body?: string, headers: Record<string, string> = {}): Promise<Answer> {
  const u = new URL(url);
  const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(u, { method, headers, ca: ca.ca, agent: false, timeout: 5_000 }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body: text,
          serial: (res.socket as import('node:tls').TLSSocket).getPeerCertificate?.().serialNumber ?? '',
        }),
      );
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

async function delivery(url: string): Promise<Answer> {
  const payload = webhookExample('workflow_job', (x) => x.action === 'queued');
  const body = JSON.stringify(payload);
  return send(`${url}/webhook`, 'POST', body, {
    'content-type': 'application/json',
    'x-github-event': 'workflow_job',
    'x-github-delivery': crypto.randomUUID(),
    'x-hub-signature-256': await sign(SECRET, body),
  });
}

describe('the webhook port over TLS', () => {
  it('takes a signed delivery over https and names itself https', async () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const before = events.length;
    const res = await delivery(server.url);
    expect(res.status).toBe(202);
    expect(events.length).toBe(before + 1);
    expect(events.at(-1)?.name).toBe('workflow_job');
    expect((await send(`${server.url}/healthz`, 'GET')).status).toBe(200);
  });

  it('gives plain http no answer, and a client that does not trust the CA no connection', async () => {
    const before = events.length;
    await expect(delivery(server.url.replace('https:', 'http:'))).rejects.toThrow(/socket hang up|ECONNRESET/);
    const untrusting = new Promise((resolve, reject) =>
      httpsRequest(`${server.url}/healthz`, { agent: false }, resolve).on('error', reject).end(),
    );
    await expect(untrusting).rejects.toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    expect(events.length).toBe(before);
  });

  it('serves a renewed certificate after a reload, and keeps the old one when the renewal is broken', async () => {
    const first = await send(`${server.url}/healthz`, 'GET');
    ca.issue(certFile, keyFile, '/CN=renewed');
    await server.reloadTls();
    const renewed = await send(`${server.url}/healthz`, 'GET');
    expect(renewed.status).toBe(200);
    expect(renewed.serial).not.toBe(first.serial);

    writeFileSync(keyFile, 'not a key\n');
    await expect(server.reloadTls()).rejects.toThrow(
      /^github\.webhook\.tls: the renewed certificate and key were not taken/,
    );
    expect((await send(`${server.url}/healthz`, 'GET')).serial).toBe(renewed.serial);
  });

  it('refuses to start on a missing file, naming the config path', async () => {
    await expect(start({ certFile: join(ca.dir, 'missing.pem'), keyFile })).rejects.toThrow(
      `github.webhook.tls.certFile: cannot read ${join(ca.dir, 'missing.pem')} (ENOENT)`,
    );
  });

  it('takes tls in the config as absolute paths only, and stays plain HTTP without it', () => {
    const base = { auth: { tokenEnv: 'T' }, webhook: { secret: { env: 'S' } } };
    const parse = (webhook: object) =>
      configSchema.safeParse({
        github: { ...base, webhook: { ...base.webhook, ...webhook } },
        profiles: { ci: { labels: ['ci'], image: 'ci' } },
        repos: [{ repo: 'o/r', profiles: ['ci'] }],
      });
    expect(parse({}).success).toBe(true);
    expect(parse({}).data?.github.webhook?.tls).toBeUndefined();
    expect(parse({ tls: { certFile: '/etc/factory/tls/cert.pem', keyFile: '/etc/factory/tls/key.pem' } }).success).toBe(
      true,
    );
    const relative = parse({ tls: { certFile: 'cert.pem', keyFile: '/k.pem' } });
    expect(relative.error?.issues[0]).toMatchObject({
      path: ['github', 'webhook', 'tls', 'certFile'],
      message: 'expected an absolute path, got "cert.pem"',
    });
  });
});

describe('the controller with github.webhook.tls', () => {
  it('serves HTTPS from the files and takes a renewed certificate on SIGHUP, as a process', async () => {
    const dir = join(ca.dir, 'controller');
    mkdirSync(dir);
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    ca.issue(cert, key, '/CN=first');
    const configFile = join(dir, 'factory.yml');
    writeFileSync(
      configFile,
      stringify({
        // Nothing answers here: GitHub is unreachable and Docker down; the webhook port opens all the same.
        github: {
          apiUrl: 'http://127.0.0.1:9',
          auth: { tokenEnv: 'T' },
          webhook: { host: '127.0.0.1', port: 0, secret: { env: 'S' }, tls: { certFile: cert, keyFile: key } },
        },
        docker: { socketPath: join(dir, 'no-docker.sock') },
        stateDir: join(dir, 'state'),
        status: { port: 0 },
        profiles: { ci: { labels: ['ci'], image: 'ci' } },
        repos: [{ repo: 'o/r', profiles: ['ci'] }],
      }),
    );
    const child = spawnFactory(['controller', '--config', configFile], {
      env: { PATH: process.env.PATH, T: 'ghs_x', S: SECRET, FACTORY_LOG_LEVEL: 'info' },
    });
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    const exited = new Promise((resolve) => child.on('close', resolve));
    const logged = async (pattern: RegExp) => {
      for (const deadline = Date.now() + 30_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 50))) {
        const m = pattern.exec(log);
        if (m) return m;
      }
      throw new Error(`never logged ${pattern}:\n${log}`);
    };
    try {
      const url = (await logged(/"url":"(https:\/\/127\.0\.0\.1:\d+)","path":"\/webhook"/))[1]!;
      const first = await send(`${url}/healthz`, 'GET');
      expect(first.status).toBe(503);

      ca.issue(cert, key, '/CN=renewed');
      child.kill('SIGHUP');
      await logged(/webhook TLS certificate re-read/);
      const renewed = await send(`${url}/healthz`, 'GET');
      expect(renewed.serial).not.toBe(first.serial);
      expect((await delivery(url)).status).toBe(202);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });
});
