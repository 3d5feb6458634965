// A brokered lane's MCP servers with static tokens, from launch to release: the job's rendered entries point at its
// broker with the placeholder as their bearer, its released values hold no token, and what it holds is enough to list
// a hosted server's tools through the broker. A lane that copies its logins keeps today's entries and values.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobBrokers } from '../../controller/broker/job-brokers.js';
import { parseConfig } from '../../controller/config/config.js';
import { prepareJobFolder } from '../../controller/lanes/job-folder.js';
import { jobDir } from '../../controller/lanes/lane-layout.js';
import { MCP_BROKER_TOKEN_ENV, renderClaudeMcp, renderCodexMcp } from '../../controller/lanes/mcp-render.js';
import { releaseDir, releaseJob } from '../../controller/lanes/release.js';
import { startFakeHostedMcp, type FakeHostedMcp } from '../support/fake-hosted-mcp.js';
import { claudeLogin } from '../support/lane-homes.js';

const LINEAR_TOKEN = 'lin_api_host-only-value';
const SENTRY_TOKEN = 'sntrys_host-only-value';
const root = mkdtempSync(join(tmpdir(), 'factory-brokered-mcp-'));
let linear: FakeHostedMcp;

beforeAll(async () => {
  linear = await startFakeHostedMcp('linear', LINEAR_TOKEN);
  const claude = join(root, 'host', '.claude');
  mkdirSync(claude, { recursive: true });
  writeFileSync(join(claude, '.credentials.json'), JSON.stringify(claudeLogin('sk-ant-oat01-h', 'sk-ant-ort01-h')));
  writeFileSync(
    join(root, 'lane.env'),
    `LINEAR_API_KEY=${LINEAR_TOKEN}\nSENTRY_TOKEN=${SENTRY_TOKEN}\nDEPLOY_HOOK=kept-value\n`,
  );
});
afterAll(async () => {
  await linear.close();
  rmSync(root, { recursive: true, force: true });
});

const config = (auth: 'broker' | 'copy') => {
  const parsed = parseConfig(`
github: { auth: { tokenEnv: T }, webhook: { secret: { env: S } } }
stateDir: ${join(root, `state-${auth}`)}
profiles:
  claude:
    trusted: true
    labels: [self-hosted, factory, claude]
    image: factory/base:0.1.0
    network: host
    auth: ${auth}
    agentUser: "1001:1001"
    envFiles: [${join(root, 'lane.env')}]
    mounts: [{ kind: auth, agent: claude, source: ${join(root, 'host', '.claude')} }]
    mcp:
      - { name: linear, url: ${linear.url}, tokenEnv: LINEAR_API_KEY }
      - { name: sentry, url: https://mcp.sentry.dev/mcp, credential: token, tokenEnv: SENTRY_TOKEN }
      - { name: docs, url: https://docs.mcp.cloudflare.com/mcp, credential: none }
      - { name: local, command: node, args: [server.js] }
repos: [{ repo: o/r, profiles: [claude] }]
`);
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  return parsed.config;
};

/** Every file under the job's folder, as text. */
const filesUnder = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [readFileSync(path, 'utf8')];
  });

describe("a brokered lane's MCP servers with static tokens", () => {
  it('reach the server through the broker with the placeholder; no token value is in the job', async () => {
    const cfg = config('broker');
    const profile = cfg.profiles.claude!;
    const brokers = new JobBrokers(() => cfg);
    try {
      await prepareJobFolder(cfg, 'claude', profile, 'runner-1', { brokered: true });
      const broker = await brokers.start(profile, 'runner-1');
      await brokers.grant('runner-1');
      await releaseJob(cfg, 'claude', profile, 'runner-1', { repo: 'o/r', jobId: 1, runId: 1 });

      const dir = jobDir(cfg, 'runner-1');
      const env = JSON.parse(readFileSync(join(releaseDir(cfg, 'runner-1'), 'env.json'), 'utf8'));
      expect(env).toEqual({ DEPLOY_HOOK: 'kept-value', [MCP_BROKER_TOKEN_ENV]: broker.token });
      const base = `http://127.0.0.1:${broker.port}`;
      const claude = JSON.parse(readFileSync(join(dir, 'mcp', 'claude.json'), 'utf8')).mcpServers;
      const bearer = { Authorization: `Bearer \${${MCP_BROKER_TOKEN_ENV}}` };
      expect(claude.linear).toEqual({ type: 'http', url: `${base}/mcp/linear`, headers: bearer });
      expect(claude.sentry).toEqual({ type: 'http', url: `${base}/mcp/sentry`, headers: bearer });
      expect(claude.docs).toEqual({ type: 'http', url: 'https://docs.mcp.cloudflare.com/mcp' });
      const codex = readFileSync(join(dir, 'mcp', 'codex.toml'), 'utf8');
      expect(codex).toContain(
        `[mcp_servers.linear]\nurl = "${base}/mcp/linear"\nbearer_token_env_var = "${MCP_BROKER_TOKEN_ENV}"`,
      );
      expect(codex).not.toMatch(/LINEAR_API_KEY|SENTRY_TOKEN/);
      for (const text of filesUnder(dir)) {
        expect(text).not.toContain(LINEAR_TOKEN);
        expect(text).not.toContain(SENTRY_TOKEN);
      }

      // What the job holds is enough: the rendered entry's url, and the released placeholder as its bearer.
      const client = new Client({ name: 'job', version: '1.0.0' });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(claude.linear.url), {
          requestInit: { headers: { Authorization: `Bearer ${env[MCP_BROKER_TOKEN_ENV]}` } },
        }),
      );
      expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['whoami']);
      await client.close();
    } finally {
      await brokers.closeAll();
    }
  });

  it('point nowhere until the launch writes its broker in', async () => {
    const cfg = config('broker');
    await prepareJobFolder(cfg, 'claude', cfg.profiles.claude!, 'runner-2', { brokered: true });
    const claude = readFileSync(join(jobDir(cfg, 'runner-2'), 'mcp', 'claude.json'), 'utf8');
    expect(JSON.parse(claude).mcpServers.linear.url).toBe('http://factory-broker.invalid/mcp/linear');
  });

  it.each([
    ['a lane that copies its logins', 'copy'],
    ['a brokered lane started without a broker (factory lane run, the doctor)', 'broker'],
  ] as const)('stay as they were for %s', async (_, auth) => {
    const cfg = config(auth);
    const profile = cfg.profiles.claude!;
    await prepareJobFolder(cfg, 'claude', profile, 'runner-3');
    await releaseJob(cfg, 'claude', profile, 'runner-3', { repo: 'o/r', jobId: 3, runId: 3 });

    const dir = jobDir(cfg, 'runner-3');
    expect(readFileSync(join(dir, 'mcp', 'claude.json'), 'utf8')).toBe(renderClaudeMcp(profile.mcp));
    expect(readFileSync(join(dir, 'mcp', 'codex.toml'), 'utf8')).toBe(renderCodexMcp(profile.mcp));
    expect(JSON.parse(renderClaudeMcp(profile.mcp)).mcpServers.linear).toEqual({
      type: 'http',
      url: linear.url,
      headers: { Authorization: 'Bearer ${LINEAR_API_KEY}' },
    });
    expect(JSON.parse(readFileSync(join(releaseDir(cfg, 'runner-3'), 'env.json'), 'utf8'))).toEqual({
      LINEAR_API_KEY: LINEAR_TOKEN,
      SENTRY_TOKEN,
      DEPLOY_HOOK: 'kept-value',
    });
  });
});
