// The real claude and codex CLIs, as processes on this host, complete a run through a job's broker holding only
// placeholders: the broker swaps in the host login's token and forwards to the loopback fake model, and no request of
// the CLIs carries a real token or leaves for anywhere else.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../lane-contract/agents.js';
import { LoginRefreshers } from '../../controller/broker/login-refresher.js';
import { startModelBroker, type ModelBroker } from '../../controller/broker/model-broker.js';
import { placeholderFiles, type HostFiles } from '../../controller/lanes/broker-placeholders.js';
import { startFakeModelServer, fakeIdToken, type FakeModelServer } from '../support/fake-model-server.js';
import { claudeLogin, codexConfig } from '../support/lane-homes.js';

/** Runs a CLI with stdin closed (codex reads a prompt from an open stdin), resolving with its stdout. */
function run(command: string, args: string[], opts: { env: Record<string, string>; cwd?: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: opts.env, cwd: opts.cwd ?? root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${command} exited ${code}: ${err.slice(-2000)}`)),
    );
  });
}
const bin = (name: string) => resolve('node_modules/.bin', name);

let model: FakeModelServer;
let root: string;
const brokers: ModelBroker[] = [];

beforeAll(async () => {
  model = await startFakeModelServer();
  root = mkdtempSync(join(tmpdir(), 'broker-cli-'));
});
afterAll(async () => {
  for (const b of brokers) await b.close();
  await model.close();
  rmSync(root, { recursive: true, force: true });
});

/** The host's login folder for one agent, as `claude login` or `codex login` leave it. */
function hostLogin(
  agent: Agent,
  kind: 'subscription' | 'api-key',
): { dir: string; secrets: string[]; files: HostFiles } {
  const dir = join(root, `host-${agent}-${kind}`);
  mkdirSync(dir, { recursive: true });
  const files: HostFiles = {};
  let secrets: string[];
  if (agent === 'claude' && kind === 'subscription') {
    secrets = ['sk-ant-oat01-hostaccess0000000000', 'sk-ant-ort01-hostrefresh000000000'];
    files['.credentials.json'] = JSON.stringify(claudeLogin(secrets[0]!, secrets[1]!, 24 * 3600_000));
    files['.claude.json'] = JSON.stringify({ hasCompletedOnboarding: true, numStartups: 3 });
  } else if (agent === 'claude') {
    secrets = ['sk-ant-api03-hostapikey00000000000'];
    files['.claude.json'] = JSON.stringify({ hasCompletedOnboarding: true, primaryApiKey: secrets[0] });
  } else if (kind === 'subscription') {
    secrets = ['codex-host-access-token-0000', 'codex-host-refresh-token-0000'];
    files['auth.json'] = JSON.stringify({
      OPENAI_API_KEY: null,
      tokens: { id_token: fakeIdToken(), access_token: secrets[0], refresh_token: secrets[1], account_id: 'acct-fake' },
      last_refresh: new Date().toISOString(),
    });
  } else {
    secrets = ['sk-proj-hostapikey000000000000'];
    files['auth.json'] = JSON.stringify({ OPENAI_API_KEY: secrets[0] });
  }
  if (agent === 'codex') files['config.toml'] = hostCodexConfig();
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text!, { mode: 0o600 });
  return { dir, secrets, files };
}

/** The host's own config.toml: the CLI's defaults, the phoning-home features off (the fake provider dropped). */
const hostCodexConfig = () =>
  codexConfig('http://unused').split('\n[model_providers.fake]')[0]!.replace('model_provider = "fake"\n', '');

/** The job's folder: placeholders only, pointed at a broker for this job. */
async function brokeredJob(agent: Agent, kind: 'subscription' | 'api-key') {
  const host = hostLogin(agent, kind);
  const broker = await startModelBroker(
    {
      runnerName: `job-${agent}-${kind}`,
      logins: new Map([[agent, { agent, source: host.dir, claudeJson: join(host.dir, '.claude.json') }]]),
      models: ['claude-*', 'fake-codex-model'],
    },
    {
      refreshers: new LoginRefreshers({ codex: `${model.url}/oauth/token`, claude: `${model.url}/oauth/token` }),
      upstreams: { anthropicUrl: model.url, openaiUrl: `${model.url}/v1`, chatgptUrl: `${model.url}/v1` },
    },
  );
  brokers.push(broker);
  const job = join(root, `job-${agent}-${kind}`);
  mkdirSync(job, { recursive: true });
  const files = placeholderFiles(agent, host.files, { token: broker.token, url: `http://127.0.0.1:${broker.port}` });
  if ('error' in files) throw new Error(files.error);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(job, name), text, { mode: 0o600 });
  return { host, broker, job };
}

/** Everything else the CLIs try goes to the proxy trap; nothing names the fake model directly. */
const trapEnv = () => ({
  PATH: process.env.PATH ?? '',
  HOME: root,
  CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
  DISABLE_AUTOUPDATER: '1',
  HTTPS_PROXY: model.url,
  HTTP_PROXY: model.url,
  https_proxy: model.url,
  http_proxy: model.url,
  NO_PROXY: '127.0.0.1,localhost',
  no_proxy: '127.0.0.1,localhost',
});

function sentTokens(): string[] {
  return model.requests.filter((r) => r.api !== 'other').flatMap((r) => [r.authorization ?? '', r.apiKey ?? '']);
}

describe('the real CLIs through a job broker', { timeout: 120_000 }, () => {
  for (const kind of ['subscription', 'api-key'] as const) {
    it(`claude with a ${kind} login completes a run holding only the placeholder`, async () => {
      const { host, broker, job } = await brokeredJob('claude', kind);
      const before = model.requests.length;
      model.script('anthropic', [{ kind: 'text', text: `brokered ${kind}` }]);
      // The container's environment names the broker too, as the launch sets it (claude asks before reading settings).
      const stdout = await run(
        bin('claude'),
        ['--print', '--output-format', 'json', '--model', 'claude-sonnet-4-5', 'say hi'],
        {
          env: { ...trapEnv(), CLAUDE_CONFIG_DIR: job, ANTHROPIC_BASE_URL: `http://127.0.0.1:${broker.port}` },
        },
      );
      expect(JSON.parse(stdout).result).toBe(`brokered ${kind}`);
      const mine = model.requests.slice(before).filter((r) => r.api === 'anthropic');
      expect(mine.length).toBeGreaterThan(0);
      for (const r of mine)
        if (kind === 'subscription') expect(r.authorization).toBe(`Bearer ${host.secrets[0]}`);
        else expect(r.apiKey).toBe(host.secrets[0]);
      expect(broker.counts.forwarded).toBeGreaterThan(0);
      expect(readFileSync(join(job, '.credentials.json'), 'utf8')).not.toContain(host.secrets[0]!);
    });

    it(`codex with a ${kind === 'subscription' ? 'ChatGPT' : 'API key'} login completes a run holding only the placeholder`, async () => {
      const { host, broker, job } = await brokeredJob('codex', kind);
      const before = model.requests.length;
      model.script('openai', [{ kind: 'text', text: `brokered codex ${kind}` }]);
      const out = join(job, 'last.txt');
      await run(
        bin('codex'),
        [
          'exec',
          '--skip-git-repo-check',
          '--sandbox',
          'read-only',
          '--model',
          'fake-codex-model',
          '--output-last-message',
          out,
          'say hi',
        ],
        { env: { ...trapEnv(), CODEX_HOME: job } },
      );
      expect(readFileSync(out, 'utf8').trim()).toBe(`brokered codex ${kind}`);
      const mine = model.requests.slice(before).filter((r) => r.api === 'openai');
      expect(mine.length).toBeGreaterThan(0);
      for (const r of mine) expect(r.authorization).toBe(`Bearer ${host.secrets[0]}`);
      // The CLI never tried to refresh the placeholder: only the host refreshes.
      expect(model.requests.slice(before).filter((r) => r.api === 'oauth')).toEqual([]);
      expect(broker.counts.forwarded).toBeGreaterThan(0);
    });
  }

  it("the provider saw only host tokens, and nothing but claude's own host was tried outside the broker", () => {
    expect(sentTokens().some((t) => t.includes('factory-broker-'))).toBe(false);
    // claude reaches api.anthropic.com once whatever ANTHROPIC_BASE_URL says; it holds only the placeholder to send.
    expect(model.outboundAttempts.every((a) => a === 'api.anthropic.com:443')).toBe(true);
  });
});
