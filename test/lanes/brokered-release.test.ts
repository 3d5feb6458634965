// A brokered claude lane's release: the job's credentials file is the placeholder login and nothing else. The hosted
// MCP logins of the profile's `credential: oauth` servers stay on the host: their entries point at the job's broker,
// with the placeholder as bearer, and no file of the job holds any of their tokens. Its gh folder holds a placeholder
// login pointed at the broker's socket, and no file of the job the host's gh token.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../controller/config/config.js';
import { BROKER_FILE } from '../../controller/lanes/broker-placeholders.js';
import { prepareJobFolder } from '../../controller/lanes/job-folder.js';
import { jobDir } from '../../controller/lanes/lane-layout.js';
import { claudeMcpOAuthKey, MCP_BROKER_TOKEN_ENV } from '../../controller/lanes/mcp-render.js';
import { releasedGhDir, releaseJob } from '../../controller/lanes/release.js';
import { claudeLogin } from '../support/lane-homes.js';

const root = mkdtempSync(join(tmpdir(), 'factory-brokered-release-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const LINEAR = 'https://mcp.linear.app/mcp';
const SENTRY = 'https://mcp.sentry.dev/mcp';
const FIGMA = 'https://mcp.figma.com/mcp';

/** The host's claude folder: its own login and the hosted MCP logins `/mcp` made, one for a server no lane lists. */
function hostClaude(): string {
  const dir = join(root, 'host', '.claude');
  mkdirSync(dir, { recursive: true });
  const login = (server: string, url: string) => ({
    serverName: server,
    serverUrl: url,
    clientId: `client-${server}`,
    clientSecret: `client-secret-${server}`,
    accessToken: `mcp-access-${server}`,
    refreshToken: `mcp-refresh-${server}`,
    expiresAt: Date.now() + 3600_000,
    scope: 'read write',
  });
  const credentials = {
    ...claudeLogin('sk-ant-oat01-host', 'sk-ant-ort01-host'),
    mcpOAuth: {
      [claudeMcpOAuthKey('linear', LINEAR)]: login('linear', LINEAR),
      [claudeMcpOAuthKey('sentry', SENTRY)]: login('sentry', SENTRY),
      [claudeMcpOAuthKey('figma', FIGMA)]: login('figma', FIGMA),
    },
  };
  writeFileSync(join(dir, '.credentials.json'), JSON.stringify(credentials), { mode: 0o600 });
  return dir;
}

const yaml = (claudeDir: string) => `
github: { auth: { tokenEnv: T }, webhook: { secret: { env: S } } }
stateDir: ${join(root, 'state')}
profiles:
  claude:
    trusted: true
    labels: [self-hosted, factory, claude]
    image: factory/base:0.1.0
    network: host
    auth: broker
    agentUser: "1001:1001"
    mounts: [{ kind: auth, agent: claude, source: ${claudeDir} }]
    mcp:
      - { name: linear, url: ${LINEAR}, credential: oauth }
      - { name: sentry, url: ${SENTRY}, credential: oauth }
      - { name: docs, url: https://docs.mcp.cloudflare.com/mcp, credential: none }
repos: [{ repo: o/r, profiles: [claude] }]
`;

/** Every file under `dir`, as text. */
const filesUnder = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [readFileSync(path, 'utf8')];
  });

describe("a brokered claude lane's release", () => {
  it('carries no hosted MCP login: its oauth servers are reached at the broker, and no token of theirs is in the job', async () => {
    const parsed = parseConfig(yaml(hostClaude()));
    if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
    const { config } = parsed;
    const profile = config.profiles.claude!;
    await prepareJobFolder(config, 'claude', profile, 'runner-1', { brokered: true });
    const grant = { token: 'factory-broker-job1', url: 'http://127.0.0.1:4000' };
    writeFileSync(join(jobDir(config, 'runner-1'), BROKER_FILE), JSON.stringify(grant));
    await releaseJob(config, 'claude', profile, 'runner-1', { repo: 'o/r', jobId: 1, runId: 1 });

    const dir = jobDir(config, 'runner-1');
    const credentials = JSON.parse(readFileSync(join(dir, 'auth', 'claude', '.credentials.json'), 'utf8'));
    expect(credentials.claudeAiOauth.accessToken).toBe(grant.token);
    expect(Object.keys(credentials)).toEqual(['claudeAiOauth']);
    const claude = JSON.parse(readFileSync(join(dir, 'mcp', 'claude.json'), 'utf8')).mcpServers;
    const bearer = { Authorization: `Bearer \${${MCP_BROKER_TOKEN_ENV}}` };
    expect(claude.linear).toEqual({ type: 'http', url: 'http://factory-broker.invalid/mcp/linear', headers: bearer });
    expect(claude.sentry).toEqual({ type: 'http', url: 'http://factory-broker.invalid/mcp/sentry', headers: bearer });
    expect(claude.docs).toEqual({ type: 'http', url: 'https://docs.mcp.cloudflare.com/mcp' });
    expect(readFileSync(join(dir, 'mcp', 'codex.toml'), 'utf8')).toContain(
      `[mcp_servers.sentry]\nurl = "http://factory-broker.invalid/mcp/sentry"\nbearer_token_env_var = "${MCP_BROKER_TOKEN_ENV}"`,
    );
    // Nothing of any hosted login, its access token included, is in any file of the job.
    const files = filesUnder(dir);
    for (const held of [
      'sk-ant-oat01-host',
      'sk-ant-ort01-host',
      'mcp-access-',
      'mcp-refresh-',
      'client-secret-',
      'mcpOAuth',
    ])
      expect(
        files.filter((t) => t.includes(held)),
        held,
      ).toEqual([]);
  });

  it("a copied login still carries the host's hosted MCP logins whole (factory lane run, auth: copy)", async () => {
    const parsed = parseConfig(yaml(hostClaude()).replace('auth: broker', 'auth: copy'));
    if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
    const { config } = parsed;
    const profile = config.profiles.claude!;
    await prepareJobFolder(config, 'claude', profile, 'runner-2');
    await releaseJob(config, 'claude', profile, 'runner-2', { repo: 'o/r', jobId: 2, runId: 2 });

    const dir = jobDir(config, 'runner-2');
    const credentials = JSON.parse(readFileSync(join(dir, 'auth', 'claude', '.credentials.json'), 'utf8'));
    expect(credentials.mcpOAuth[claudeMcpOAuthKey('linear', LINEAR)].refreshToken).toBe('mcp-refresh-linear');
    const claude = JSON.parse(readFileSync(join(dir, 'mcp', 'claude.json'), 'utf8')).mcpServers;
    expect(claude.linear).toEqual({ type: 'http', url: LINEAR });
  });
});

const GH_TOKEN = 'gho_hostGhLogin0123456789abcdefABCDEFgh';

/** Every file under a folder, as text. */
const allFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? allFiles(join(dir, e.name)) : e.isFile() ? [readFileSync(join(dir, e.name), 'utf8')] : [],
  );

describe("a brokered lane's gh login", () => {
  it("is a placeholder pointed at the broker's socket: no file of the job holds the host's gh token", async () => {
    const gh = join(root, 'host', 'gh');
    mkdirSync(gh, { recursive: true });
    writeFileSync(join(gh, 'hosts.yml'), `github.com:\n    oauth_token: ${GH_TOKEN}\n    user: octocat\n`, {
      mode: 0o600,
    });
    writeFileSync(join(gh, 'config.yml'), 'git_protocol: https\n');
    const parsed = parseConfig(
      yaml(hostClaude()).replace(
        'mounts: [{ kind: auth, agent: claude, source: ',
        `mounts: [{ kind: gh, source: ${gh} }, { kind: auth, agent: claude, source: `,
      ),
    );
    if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
    const { config } = parsed;
    const profile = config.profiles.claude!;
    await prepareJobFolder(config, 'claude', profile, 'runner-gh');
    const grant = { token: 'factory-broker-model', url: 'http://127.0.0.1:4000', gh: 'factory-broker-gh' };
    writeFileSync(join(jobDir(config, 'runner-gh'), BROKER_FILE), JSON.stringify(grant));
    await releaseJob(config, 'claude', profile, 'runner-gh', { repo: 'o/r', jobId: 1, runId: 1 });

    const dir = releasedGhDir(config, 'runner-gh', 0);
    expect(parse(readFileSync(join(dir, 'hosts.yml'), 'utf8'))['github.com']).toMatchObject({
      oauth_token: grant.gh,
      user: 'octocat',
    });
    expect(parse(readFileSync(join(dir, 'config.yml'), 'utf8'))).toMatchObject({
      http_unix_socket: '/home/runner/.config/gh/gh.sock',
    });
    expect(allFiles(jobDir(config, 'runner-gh')).filter((t) => t.includes(GH_TOKEN))).toEqual([]);
  });
});
