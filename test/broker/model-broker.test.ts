// A job's broker against loopback stand-ins for the provider: the model API (the fake model server) and the token
// endpoint (the fake login provider, which rotates refresh tokens and refuses a spent one, as the real ones do).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LoginRefreshers } from '../../controller/broker/login-refresher.js';
import { startModelBroker, type ModelBroker } from '../../controller/broker/model-broker.js';
import { startFakeLoginProvider, type FakeLoginProvider } from '../support/fake-login-provider.js';
import { startFakeModelServer, type FakeModelServer } from '../support/fake-model-server.js';
import { claudeLogin } from '../support/lane-homes.js';

let model: FakeModelServer;
let provider: FakeLoginProvider;
let root: string;
let brokers: ModelBroker[] = [];

beforeAll(async () => {
  model = await startFakeModelServer();
  provider = await startFakeLoginProvider();
});
afterAll(async () => {
  await model.close();
  await provider.close();
});
afterEach(async () => {
  for (const b of brokers) await b.close();
  brokers = [];
  if (root) rmSync(root, { recursive: true, force: true });
});

/** The host's claude login, its refresh token issued by the fake provider; the access token expires at `expiresAt`. */
function hostClaude(expiresInMs: number, now: number): string {
  root = mkdtempSync(join(tmpdir(), 'model-broker-'));
  const login = claudeLogin('sk-ant-oat01-host-first', provider.issue('claude', 'acct-host'), expiresInMs);
  login.claudeAiOauth.expiresAt = now + expiresInMs;
  writeFileSync(join(root, '.credentials.json'), JSON.stringify(login), { mode: 0o600 });
  return root;
}

async function jobBroker(source: string, refreshers: LoginRefreshers, models: string[] = [], relayedOnly = false) {
  const broker = await startModelBroker(
    {
      runnerName: `job-${brokers.length}`,
      logins: new Map([['claude', { agent: 'claude', source }]]),
      models,
      relayedOnly,
    },
    { refreshers, upstreams: { anthropicUrl: model.url, openaiUrl: `${model.url}/v1`, chatgptUrl: `${model.url}/v1` } },
  );
  brokers.push(broker);
  return broker;
}

const ask = (broker: ModelBroker, opts: { token?: string; path?: string; model?: string; method?: string } = {}) =>
  fetch(`http://127.0.0.1:${broker.port}${opts.path ?? '/v1/messages'}`, {
    method: opts.method ?? 'POST',
    headers: { authorization: `Bearer ${opts.token ?? broker.token}`, 'content-type': 'application/json' },
    ...((opts.method ?? 'POST') === 'POST'
      ? { body: JSON.stringify({ model: opts.model ?? 'claude-sonnet-4-5', max_tokens: 8, messages: [] }) }
      : {}),
  });

const hostFile = () => JSON.parse(readFileSync(join(root, '.credentials.json'), 'utf8')).claudeAiOauth;

describe('a job broker', () => {
  it("forwards the job's request with the host's token in place of the placeholder", async () => {
    const broker = await jobBroker(hostClaude(3600_000, Date.now()), new LoginRefreshers({ claude: '', codex: '' }));
    const before = model.requests.length;
    const res = await ask(broker);
    expect(res.status).toBe(200);
    expect(model.requests.slice(before).map((r) => r.authorization)).toEqual(['Bearer sk-ant-oat01-host-first']);
  });

  it("refuses another job's placeholder, a made-up one and none, before anything reaches the provider", async () => {
    const refreshers = new LoginRefreshers({ claude: '', codex: '' });
    const source = hostClaude(3600_000, Date.now());
    const a = await jobBroker(source, refreshers);
    const b = await jobBroker(source, refreshers);
    const before = model.requests.length;
    expect((await ask(a, { token: b.token })).status).toBe(401);
    expect((await ask(a, { token: 'factory-broker-guessed' })).status).toBe(401);
    const none = await fetch(`http://127.0.0.1:${a.port}/v1/messages`, { method: 'POST', body: '{}' });
    expect(none.status).toBe(401);
    expect(model.requests.length).toBe(before);
  });

  it("behind egress, refuses the placeholder from any process but the controller's own relay", async () => {
    const broker = await jobBroker(
      hostClaude(3600_000, Date.now()),
      new LoginRefreshers({ claude: '', codex: '' }),
      [],
      true,
    );
    // This process stands for the controller, whose relay carries the job's connections.
    expect((await ask(broker)).status).toBe(200);
    // Another process on the host (a host-network container, say) that took the placeholder out of the job. Through
    // node:http, not fetch: a fresh process's fetch loses a connection closed while it still compiles its HTTP parser
    // (slow under load), settles neither way and lets the process exit printing nothing.
    const script = `require('node:http').request('http://127.0.0.1:${broker.port}/v1/messages', { method: 'POST', headers: { authorization: 'Bearer ${broker.token}' } }, (r) => console.log(r.statusCode)).on('error', () => console.log('refused')).end('{"model":"claude-sonnet-4-5"}')`;
    // Asynchronously: the broker answers from this very process.
    // A clean environment: unit files share a worker, and one that left NODE_OPTIONS or a proxy set must not reach it.
    const out = (
      await promisify(execFile)(process.execPath, ['-e', script], { env: { PATH: process.env.PATH ?? '' } })
    ).stdout.trim();
    expect(out).toBe('refused');
    expect(broker.counts.refused).toBe(1);
  });

  it('answers nothing once the job ended: its placeholder opens no door anywhere', async () => {
    const broker = await jobBroker(hostClaude(3600_000, Date.now()), new LoginRefreshers({ claude: '', codex: '' }));
    await broker.close();
    await expect(ask(broker)).rejects.toThrow();
  });

  it("answers unknown paths, other methods and a model off the profile's list with no token and no detail", async () => {
    const broker = await jobBroker(hostClaude(3600_000, Date.now()), new LoginRefreshers({ claude: '', codex: '' }), [
      'claude-sonnet-*',
    ]);
    const before = model.requests.length;
    for (const path of ['/', '/v1/models', '/api/oauth/profile', '/codex/responses', '/../.credentials.json']) {
      const res = await ask(broker, { path });
      const text = await res.text();
      expect(res.status).toBe(404);
      expect(text).not.toContain('sk-ant-');
    }
    expect((await ask(broker, { method: 'GET' })).status).toBe(404);
    const opus = await ask(broker, { model: 'claude-opus-4-1' });
    expect(opus.status).toBe(403);
    expect(model.requests.length).toBe(before);
  });

  it('refreshes a token that expires mid-job once, on the host, while three jobs use the login', async () => {
    let now = Date.now();
    const source = hostClaude(3600_000, now);
    const refreshers = new LoginRefreshers(
      { claude: `${provider.url}/claude/v1/oauth/token`, codex: '' },
      { now: () => now },
    );
    const jobs = [
      await jobBroker(source, refreshers),
      await jobBroker(source, refreshers),
      await jobBroker(source, refreshers),
    ];
    const refreshesBefore = provider.requests.length;
    expect((await Promise.all(jobs.map((j) => ask(j)))).map((r) => r.status)).toEqual([200, 200, 200]);
    expect(provider.requests.length).toBe(refreshesBefore);

    now += 58 * 60_000; // within minutes of expiry: the next requests find it about to lapse
    const before = model.requests.length;
    const answers = await Promise.all([...jobs, ...jobs].map((j) => ask(j)));
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    // One redemption: a second would have spent the rotated refresh token and been refused.
    expect(provider.requests.slice(refreshesBefore).length).toBe(1);
    const fresh = hostFile();
    expect(fresh.accessToken).not.toBe('sk-ant-oat01-host-first');
    expect(fresh.expiresAt).toBeGreaterThan(now + 3600_000);
    expect(new Set(model.requests.slice(before).map((r) => r.authorization))).toEqual(
      new Set([`Bearer ${fresh.accessToken}`]),
    );
  });

  it('refreshes once and sends again when the provider refuses a token the host thought fresh', async () => {
    const source = hostClaude(3600_000, Date.now());
    const refreshers = new LoginRefreshers({ claude: `${provider.url}/claude/v1/oauth/token`, codex: '' });
    const broker = await jobBroker(source, refreshers);
    model.script('anthropic', [{ kind: 'error', status: 401, body: { error: { message: 'token revoked' } } }]);
    const res = await ask(broker);
    expect(res.status).toBe(200);
    expect(refreshers.for({ agent: 'claude', source }).refreshes).toBe(1);
    expect(model.requests.at(-1)?.authorization).toBe(`Bearer ${hostFile().accessToken}`);
  });
});
