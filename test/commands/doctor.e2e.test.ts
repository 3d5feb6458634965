// `factory doctor` against the real Docker engine: checks run inside a container made from each profile.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { main } from '../../controller/commands/cli.js';
import { GitHubStandin } from '../../controller/github/standin/github-standin.js';
import { STANDIN_IMAGE } from '../../controller/commands/demo.js';
import { docker } from '../support/harness.js';
import { claudeMcpOAuthKey } from '../../controller/lanes/mcp-render.js';

const LINEAR_TOKEN = 'lin_api_doctor_secret_9f8e7d';
const GH_TOKEN = 'ghs_doctor_token_1a2b3c';
const FIGMA_OAUTH = 'figma-oauth-access-5c6d7e';
let root: string;
let github: GitHubStandin;
let service: Server;
let probeUrl: string;
let output: { code: number; out: string };

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'factory-doctor-'));
  chmodSync(root, 0o755);
  const hostside = join(root, 'hostside');
  const codexHome = join(root, 'home', '.codex');
  const claudeHome = join(root, 'home', '.claude');
  const secrets = join(root, 'secrets');
  const pkm = join(root, 'pkm');
  const gh = join(root, 'home', '.config', 'gh');
  for (const d of [hostside, codexHome, claudeHome, secrets, pkm, gh]) mkdirSync(d, { recursive: true });
  service = createServer((_req, res) => res.writeHead(204).end());
  await new Promise<void>((r) => service.listen(0, '127.0.0.1', r));
  probeUrl = `http://127.0.0.1:${(service.address() as { port: number }).port}/api/health`;
  const mcpUrl = `http://127.0.0.1:${(service.address() as { port: number }).port}/mcp`;
  // The controller's view of its state folder is a different path than the host's: the double mount.
  symlinkSync(hostside, join(root, 'view'));
  writeFileSync(
    join(codexHome, 'auth.json'),
    JSON.stringify({ tokens: { id_token: 'i', access_token: 'a', refresh_token: 'r' } }),
    { mode: 0o600 },
  );
  // Hosted MCP logins claude keeps beside its own: one current, one expired (the key is claude's own server key).
  const mcpOAuth = {
    [claudeMcpOAuthKey('figma', mcpUrl)]: {
      serverName: 'figma',
      serverUrl: mcpUrl,
      accessToken: FIGMA_OAUTH,
      refreshToken: 'figma-refresh',
      expiresAt: Date.now() + 30 * 3600_000,
    },
    [claudeMcpOAuthKey('clerk', 'https://mcp.clerk.com/mcp')]: {
      serverName: 'clerk',
      serverUrl: 'https://mcp.clerk.com/mcp',
      accessToken: 'clerk-oauth-elsewhere',
      expiresAt: Date.now() + 30 * 3600_000,
    },
    [claudeMcpOAuthKey('notion', mcpUrl)]: {
      serverName: 'notion',
      serverUrl: mcpUrl,
      accessToken: 'notion-oauth-expired',
      expiresAt: Date.now() - 2 * 3600_000,
    },
  };
  writeFileSync(
    join(claudeHome, '.credentials.json'),
    JSON.stringify({
      claudeAiOauth: { accessToken: 'sk-ant-oat-x', refreshToken: 'sk-ant-ort-y', expiresAt: 1 },
      mcpOAuth,
    }),
    { mode: 0o600 },
  );
  writeFileSync(join(gh, 'hosts.yml'), 'github.com:\n  oauth_token: gho_doctor\n', { mode: 0o644 });
  writeFileSync(join(root, 'home', '.claude.json'), JSON.stringify({ numStartups: 3 }), { mode: 0o600 });
  writeFileSync(join(secrets, 'linear.env'), `LINEAR_TOKEN=${LINEAR_TOKEN}\n`, { mode: 0o644 });
  writeFileSync(join(secrets, 'root-breakglass.md'), 'not for lanes\n', { mode: 0o600 });
  writeFileSync(join(pkm, 'pkm.sqlite'), 'notes');

  github = new GitHubStandin();
  await github.start();

  const lane = {
    labels: ['self-hosted', 'factory', 'claude'],
    image: STANDIN_IMAGE,
    trusted: true,
    network: 'host',
    probes: [probeUrl],
    mounts: [
      { kind: 'auth', agent: 'codex', source: codexHome },
      { kind: 'auth', agent: 'claude', source: claudeHome, claudeJson: join(root, 'home', '.claude.json') },
      { kind: 'secrets', source: secrets, files: ['linear.env', 'gone.env'] },
      { kind: 'data', source: pkm, target: '/data/pkm' },
      { kind: 'gh', source: gh },
    ],
    envFiles: [join(secrets, 'linear.env')],
    mcp: [
      { name: 'shell', command: 'sh' },
      { name: 'codegraph', command: 'codegraph', args: ['serve', '--mcp'] },
      // Loopback stand-ins for hosted servers: one that answers, one on a port nothing listens on.
      { name: 'linear', url: mcpUrl, tokenEnv: 'LINEAR_TOKEN' },
      { name: 'sentry', url: 'http://127.0.0.1:9/mcp', tokenEnv: 'SENTRY_TOKEN' },
      { name: 'figma', url: mcpUrl, credential: 'oauth' },
      { name: 'notion', url: mcpUrl, credential: 'oauth' },
      { name: 'vercel', url: mcpUrl, credential: 'oauth' },
      // A server whose login the host made under another URL: claude would not find it.
      { name: 'clerk', url: mcpUrl, credential: 'oauth' },
      { name: 'docs', url: mcpUrl },
    ],
  };
  const sealed = {
    labels: ['self-hosted', 'factory', 'sealed'],
    image: STANDIN_IMAGE,
    trusted: true,
    network: 'none',
    probes: [probeUrl],
  };
  const file = join(root, 'factory.yml');
  writeFileSync(
    file,
    stringify({
      github: {
        apiUrl: github.url,
        auth: { tokenEnv: 'DOCTOR_GH_TOKEN' },
        webhook: { secret: { env: 'DOCTOR_WEBHOOK_SECRET' } },
      },
      stateDir: join(root, 'view', 'state'),
      hostPathMap: [{ from: join(root, 'view'), to: hostside }],
      profiles: { lane, sealed },
      repos: [{ repo: 'factory-test/doctor', profiles: ['lane', 'sealed'] }],
    }),
  );
  const lines: string[] = [];
  process.env.DOCTOR_GH_TOKEN = GH_TOKEN;
  process.env.DOCTOR_WEBHOOK_SECRET = 'a-webhook-secret-long-enough';
  const code = await main(['doctor', '--config', file], { stdout: (s) => lines.push(s), stderr: (s) => lines.push(s) });
  delete process.env.DOCTOR_GH_TOKEN;
  delete process.env.DOCTOR_WEBHOOK_SECRET;
  output = { code, out: lines.join('\n') };
  if (process.env.SHOW_DOCTOR) console.log(output.out);
}, 120_000);

afterAll(async () => {
  await github.stop();
  await new Promise<void>((r) => service.close(() => r()));
  rmSync(root, { recursive: true, force: true });
});

const row = (scope: string, name: string) =>
  output.out
    .split('\n')
    .find((l) => new RegExp(`^[✓✗] ${scope} +${name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}  `).test(l));

describe('factory doctor', () => {
  it('passes the lane profile checks that hold, from inside its container', () => {
    expect(row('lane', 'auth codex auth.json on host')).toMatch(/^✓ .*parses as codex credentials/);
    expect(row('lane', 'auth codex auth.json')).toMatch(/^✓ .*readable and writable by uid 1000 only \(mode 600\)/);
    expect(row('lane', 'auth claude .credentials.json on host')).toMatch(/^✓ .*parses as claude credentials/);
    expect(row('lane', 'auth claude .credentials.json')).toMatch(
      /^✓ .*readable and writable by uid 1000 only \(mode 600\)/,
    );
    expect(row('lane', 'data /data/pkm')).toMatch(/^✓ .*1 entries readable/);
    expect(row('lane', `probe ${probeUrl}`)).toMatch(/^✓ .*answers/);
    expect(row('lane', 'mcp shell command')).toMatch(/^✓ .*sh$/);
    expect(row('lane', 'mcp linear token')).toMatch(/^✓ .*LINEAR_TOKEN is set/);
    expect(row('lane', 'mcp linear reachable')).toMatch(/^✓ .*answers/);
    expect(row('lane', 'mcp figma oauth token')).toMatch(/^✓ .*valid until \S+Z \((29|30)h left\)/);
    // Where each server's credential comes from, one row each.
    expect(row('lane', 'mcp linear credential')).toMatch(/^✓ .*http, static token from \$LINEAR_TOKEN \(env files\)/);
    expect(row('lane', 'mcp figma credential')).toMatch(/^✓ .*http, claude's OAuth login for figma, carried in/);
    expect(row('lane', 'mcp docs credential')).toMatch(/^✓ .*http, no credential/);
    expect(row('lane', 'mcp shell credential')).toMatch(/^✓ .*stdio, runs in the lane/);
    expect(row('lane', 'gh /home/runner/.config/gh')).toMatch(/^✓ .*hosts.yml readable, read-only/);
    expect(row('lane', 'host path map')).toMatch(/^✓ .*read back/);
    expect(row('host', 'docker engine')).toMatch(/^✓/);
    expect(row('host', 'github factory-test/doctor')).toMatch(/^✓ .*runner API answers/);
    expect(row('host', 'webhook secret')).toMatch(
      /^✓ .*environment variable DOCTOR_WEBHOOK_SECRET is set \(28 characters\)/,
    );
    expect(output.out).toMatch(/^[✓✗] host +disk \//m);
  });

  it('fails what is missing, with the fix under each failure, and exits non-zero', () => {
    expect(output.code).toBe(1);
    expect(row('lane', 'mcp codegraph command')).toMatch(/^✗ .*codegraph not on PATH/);
    expect(row('lane', 'mcp sentry token')).toMatch(/^✗ .*SENTRY_TOKEN is not set/);
    expect(row('lane', 'mcp sentry reachable')).toMatch(/^✗ .*no answer within 5 s \(network host\)/);
    expect(row('lane', 'mcp notion oauth token')).toMatch(/^✗ .*expired at \S+Z \(2h ago\); a lane cannot renew it/);
    expect(row('lane', 'mcp vercel oauth token')).toMatch(/^✗ .*no OAuth token for vercel in \S+\/\.credentials\.json/);
    expect(row('lane', 'mcp clerk oauth token')).toMatch(
      /^✗ .*the host's OAuth login for clerk is for https:\/\/mcp\.clerk\.com\/mcp, not http:/,
    );
    // The listed file that is not there is named; the unlisted one was never copied.
    expect(row('lane', 'secrets /factory/secrets')).toMatch(/^✗ .*listed but not released: gone\.env/);
    expect(output.out).toContain('fix: on the host, as the user who owns');
    expect(output.out).toMatch(/run `claude`, type \/mcp, pick notion and authenticate in the browser/);
    expect(row('sealed', `probe ${probeUrl}`)).toMatch(/^✗ .*no answer within 5 s \(network none\)/);
    expect(output.out).toContain(`fix: use network: host so the lane reaches ${probeUrl} on the host's loopback`);
    expect(output.out).toContain('fix: install codegraph in the image factory-test/runner:1');

    expect(output.out).toMatch(/8 of \d+ checks failed/);
  });

  it('never prints a secret value and leaves no container or job folder behind', async () => {
    expect(output.out).not.toContain(LINEAR_TOKEN);
    expect(output.out).not.toContain(GH_TOKEN);
    expect(output.out).not.toContain(FIGMA_OAUTH);
    expect(output.out).not.toContain('gho_doctor');
    const leftovers = await docker.listContainers({
      all: true,
      filters: JSON.stringify({ label: ['factory.doctor=true'] }),
    });
    expect(
      leftovers.filter((c) =>
        c.Names.some((n) => n.includes('factory-doctor-lane') || n.includes('factory-doctor-sealed')),
      ),
    ).toEqual([]);
    expect(readdirSync(join(root, 'hostside', 'state', 'doctor', 'jobs'))).toEqual([]);
    expect(readdirSync(join(root, 'hostside', 'state', 'doctor', 'probes'))).toEqual([]);
  });
});
