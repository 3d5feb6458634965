// GitHub behind an outbound proxy and a private CA, with real processes on loopback: `factory doctor` and
// `factory controller` (one GitHub client, App auth included) against the stand-in serving HTTPS with a throwaway CA's
// certificate, through a CONNECT proxy that records what it tunnels.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitHubStandin } from '../../controller/github/standin/github-standin.js';
import { certificateFailure } from '../../controller/github/github-errors.js';
import { describeProxy, proxySettings, redactProxyUrl } from '../../controller/github/github-proxy.js';
import { startConnectProxy, type ConnectProxy } from '../support/connect-proxy.js';
import { throwawayCa, type ThrowawayCa } from '../support/throwaway-ca.js';
import { spawnFactory } from '../support/factory-source.js';

const PROXY_PASSWORD = 'proxy-pw-7d1e0c';
const REPO = 'proxied-org/app';
const keys = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});

let ca: ThrowawayCa;
let standin: GitHubStandin;
let proxy: ConnectProxy;
let dir: string;
let configFile: string;

beforeAll(async () => {
  ca = throwawayCa();
  standin = new GitHubStandin({ app: { id: 5150, publicKeyPem: keys.publicKey }, tls: { cert: ca.cert, key: ca.key } });
  await standin.start();
  proxy = await startConnectProxy({ requireAuth: `Basic ${Buffer.from(`fac:${PROXY_PASSWORD}`).toString('base64')}` });
  dir = mkdtempSync(join(tmpdir(), 'factory-proxy-'));
  writeFileSync(join(dir, 'app.pem'), keys.privateKey, { mode: 0o600 });
  configFile = join(dir, 'factory.yml');
  writeFileSync(
    configFile,
    stringify({
      github: {
        apiUrl: standin.url,
        auth: { appId: 5150, privateKeyPath: join(dir, 'app.pem') },
        webhook: { secret: { env: 'S' } },
      },
      // No engine here: the doctor's Docker rows fail fast and its GitHub rows are what this file reads.
      docker: { socketPath: join(dir, 'no-docker.sock') },
      stateDir: join(dir, 'state'),
      profiles: { ci: { labels: ['ci'], image: 'ci' } },
      repos: [{ repo: REPO, profiles: ['ci'] }],
    }),
  );
});
afterAll(async () => {
  await proxy?.stop();
  await standin?.stop();
  ca?.remove();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Row {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

/** `factory doctor --json` as its own process, with only these variables besides PATH: what a service unit gives it. */
function doctor(env: Record<string, string>): Promise<{ rows: Row[]; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawnFactory(['doctor', '--config', configFile, '--json'], {
      env: { PATH: process.env.PATH, HOME: dir, S: 'w'.repeat(40), ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', () => {
      try {
        resolve({ rows: (JSON.parse(stdout) as { checks: Row[] }).checks, output: stdout + stderr });
      } catch {
        reject(new Error(`doctor printed no JSON:\n${stdout}\n${stderr}`));
      }
    });
  });
}
/**
 * `factory controller` as its own process until it has checked the repo on GitHub; then SIGTERM. It talks to the real
 * engine (it checks GitHub only while Docker answers) under an instance name of its own, with housekeeping off, so it
 * adopts and removes nothing of anyone else's; no job is queued, so it starts nothing. Returns what it logged.
 */
function controllerUntilChecked(env: Record<string, string>): Promise<string> {
  const file = join(dir, 'controller.yml');
  const config = parse(readFileSync(configFile, 'utf8')) as Record<string, any>;
  config.github.webhook = { ...config.github.webhook, host: '127.0.0.1', port: 0 };
  config.status = { port: 0 };
  config.docker = { socketPath: '/var/run/docker.sock' };
  config.instance = `proxy-${process.pid}`;
  config.housekeeping = { every: 0 };
  writeFileSync(file, stringify(config));
  const child = spawnFactory(['controller', '--config', file], {
    env: { PATH: process.env.PATH, HOME: dir, S: 'w'.repeat(40), FACTORY_LOG_LEVEL: 'info', ...env },
  });
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the controller never checked GitHub:\n${log}`));
    }, 45_000);
    child.stdout.on('data', () => {
      if (/"github":"(?!unknown)[a-z_]+","msg":"GitHub check"/.test(log)) child.kill('SIGTERM');
    });
    child.on('close', () => {
      clearTimeout(timer);
      resolve(log);
    });
  });
}
const row = (rows: Row[], name: string) => rows.find((r) => r.name === name)!;
const withCredentials = () => `http://fac:${PROXY_PASSWORD}@127.0.0.1:${proxy.port}`;
const standinTarget = () => new URL(standin.url).host;

describe('GitHub through a proxy, with a private CA', () => {
  it('goes through HTTPS_PROXY for the App token and REST calls, trusting NODE_EXTRA_CA_CERTS', async () => {
    const tunnelsBefore = proxy.tunnels.length;
    const exchangesBefore = standin.exchanges.length;
    const { rows, output } = await doctor({ https_proxy: withCredentials(), NODE_EXTRA_CA_CERTS: ca.caFile });

    expect(row(rows, `github ${REPO}`)).toMatchObject({ ok: true });
    expect(row(rows, 'github proxy').detail).toBe(
      `https through http://***@127.0.0.1:${proxy.port}; for every host (NO_PROXY is empty)`,
    );
    expect(row(rows, 'github CA')).toMatchObject({
      ok: true,
      detail: `NODE_EXTRA_CA_CERTS ${ca.caFile}: 1 certificate(s)`,
    });
    const tunnels = proxy.tunnels.slice(tunnelsBefore);
    expect(tunnels.length).toBeGreaterThan(0);
    expect(tunnels.every((t) => t.target === standinTarget() && t.upstreamPort !== undefined)).toBe(true);
    const exchanges = standin.exchanges.slice(exchangesBefore);
    expect(exchanges.map((x) => `${x.method} ${x.path} ${x.status}`)).toEqual(
      expect.arrayContaining([
        `GET /repos/${REPO}/installation 200`,
        'POST /app/installations/4242/access_tokens 201',
        `GET /repos/${REPO}/actions/runners 200`,
      ]),
    );
    // Every request the stand-in served came over a socket the proxy opened.
    const viaProxy = new Set(tunnels.map((t) => t.upstreamPort));
    expect(exchanges.filter((x) => !viaProxy.has(x.remotePort))).toEqual([]);
    expect(output).not.toContain(PROXY_PASSWORD);
  });

  it('takes the controller daemon through the proxy, and its log never shows the password', async () => {
    const tunnelsBefore = proxy.tunnels.length;
    const exchangesBefore = standin.exchanges.length;
    const log = await controllerUntilChecked({ HTTPS_PROXY: withCredentials(), NODE_EXTRA_CA_CERTS: ca.caFile });

    expect(log).toContain(`https through http://***@127.0.0.1:${proxy.port}`);
    expect(log).not.toContain(PROXY_PASSWORD);
    const viaProxy = new Set(proxy.tunnels.slice(tunnelsBefore).map((t) => t.upstreamPort));
    const exchanges = standin.exchanges.slice(exchangesBefore);
    expect(exchanges.map((x) => `${x.method} ${x.path}`)).toContain(`GET /repos/${REPO}/actions/runners`);
    expect(exchanges.filter((x) => !viaProxy.has(x.remotePort))).toEqual([]);
  });

  it('bypasses the proxy for hosts in NO_PROXY', async () => {
    const tunnelsBefore = proxy.tunnels.length;
    const exchangesBefore = standin.exchanges.length;
    const { rows } = await doctor({
      HTTPS_PROXY: withCredentials(),
      NO_PROXY: 'example.test,127.0.0.1',
      NODE_EXTRA_CA_CERTS: ca.caFile,
    });

    expect(row(rows, `github ${REPO}`)).toMatchObject({ ok: true });
    expect(row(rows, 'github proxy').detail).toContain('not for NO_PROXY example.test,127.0.0.1');
    expect(proxy.tunnels.length).toBe(tunnelsBefore);
    expect(standin.exchanges.length).toBeGreaterThan(exchangesBefore);
  });

  it("trusts NODE_EXTRA_CA_CERTS with no proxy at all, through Node's own fetch", async () => {
    const tunnelsBefore = proxy.tunnels.length;
    const { rows } = await doctor({ NODE_EXTRA_CA_CERTS: ca.caFile });

    expect(row(rows, `github ${REPO}`)).toMatchObject({ ok: true });
    expect(row(rows, 'github proxy').detail).toBe(
      'none: GitHub is reached directly (no HTTPS_PROXY or HTTP_PROXY set)',
    );
    expect(proxy.tunnels.length).toBe(tunnelsBefore);
  });

  it('fails verification without the CA, naming the certificate and NODE_EXTRA_CA_CERTS', async () => {
    const { rows, output } = await doctor({ HTTPS_PROXY: withCredentials() });

    const github = row(rows, `github ${REPO}`);
    expect(github.ok).toBe(false);
    expect(github.detail).toMatch(
      /^unreachable: GitHub unreachable on GET installation .*TLS certificate not trusted: /,
    );
    expect(github.fix).toContain('NODE_EXTRA_CA_CERTS');
    expect(rows.find((r) => r.name === 'github CA')).toBeUndefined();
    expect(output).not.toContain(PROXY_PASSWORD);
  });

  it('never shows proxy credentials, not even when the proxy refuses them', async () => {
    const wrong = `http://fac:wrong-${PROXY_PASSWORD}@127.0.0.1:${proxy.port}`;
    const { rows, output } = await doctor({ HTTPS_PROXY: wrong, NODE_EXTRA_CA_CERTS: ca.caFile });

    expect(row(rows, `github ${REPO}`)).toMatchObject({ ok: false });
    expect(row(rows, `github ${REPO}`).detail).toContain(
      'the proxy refused the tunnel with 407 Proxy Authentication Required: check the user and password in HTTPS_PROXY',
    );
    expect(output).not.toContain(PROXY_PASSWORD);
    expect(output).not.toContain(Buffer.from(`fac:wrong-${PROXY_PASSWORD}`).toString('base64'));
  });

  it('names a malformed proxy variable without its credentials', async () => {
    const { rows, output } = await doctor({ HTTPS_PROXY: `fac:${PROXY_PASSWORD}@proxy.example:3128` });

    expect(row(rows, 'github proxy')).toMatchObject({
      ok: false,
      detail:
        'HTTPS_PROXY (or https_proxy): expected a proxy URL like http://proxy.example:3128, got "***@proxy.example:3128"',
    });
    expect(output).not.toContain(PROXY_PASSWORD);
  });
});

describe('proxy settings', () => {
  it('reads the lower-case names first, then the upper-case ones', () => {
    expect(proxySettings({})).toBeUndefined();
    expect(proxySettings({ NO_PROXY: 'a' })).toBeUndefined();
    expect(proxySettings({ https_proxy: 'http://lower:1', HTTPS_PROXY: 'http://upper:1', NO_PROXY: 'x' })).toEqual({
      httpsProxy: 'http://lower:1',
      httpProxy: '',
      noProxy: 'x',
    });
    expect(proxySettings({ HTTP_PROXY: 'http://p:3128' })).toEqual({
      httpsProxy: '',
      httpProxy: 'http://p:3128',
      noProxy: '',
    });
  });

  it('redacts credentials wherever the proxy URL is shown', () => {
    expect(redactProxyUrl('http://user:pass@proxy:3128')).toBe('http://***@proxy:3128');
    expect(redactProxyUrl('http://token@proxy:3128/')).toBe('http://***@proxy:3128/');
    expect(redactProxyUrl('http://proxy:3128')).toBe('http://proxy:3128');
    expect(describeProxy(proxySettings({ HTTP_PROXY: 'http://u:secret@p:3128' }))).toBe(
      'http through http://***@p:3128; https through the http proxy; for every host (NO_PROXY is empty)',
    );
    expect(() => proxySettings({ HTTPS_PROXY: 'socks5://u:secret@p:1080' })).toThrow(
      'HTTPS_PROXY (or https_proxy): expected a proxy URL like http://proxy.example:3128, got "socks5://***@p:1080"',
    );
  });

  it('tells a certificate failure from any other', () => {
    const tls = Object.assign(new TypeError('fetch failed'), {
      cause: Object.assign(new Error('unable to verify the first certificate'), {
        code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      }),
    });
    expect(certificateFailure(tls)).toBe(
      'TLS certificate not trusted: UNABLE_TO_VERIFY_LEAF_SIGNATURE (unable to verify the first certificate); if a private CA signs it, set NODE_EXTRA_CA_CERTS to its PEM file',
    );
    const refused = Object.assign(new TypeError('fetch failed'), {
      cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }),
    });
    expect(certificateFailure(refused)).toBeUndefined();
  });
});
