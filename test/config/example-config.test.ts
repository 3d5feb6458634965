// examples/factory.yml is the whole org with its connection map (docs/real-host.md); the real-host guide starts from it, so it must stay valid and
// keep every connection of the map.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig, type Config } from '../../controller/config/config.js';
import { laneMounts } from '../../controller/lanes/lane-layout.js';
import { codeIndexRoot } from '../../controller/lanes/code-index.js';
import { decide } from '../../controller/gateway/egress-policy.js';
import { brokeredMcpServers } from '../../controller/lanes/mcp-render.js';
import { relayedValue } from '../../controller/egress/egress-plan.js';

const root = join(import.meta.dirname, '../..');
const SEED_MCP = {
  stdio: ['pkm-agent', 'codegraph', 'playwright'],
  http: [
    'github',
    'clerk',
    'linear',
    'posthog',
    'sentry',
    'cloudflare-api',
    'cloudflare-bindings',
    'cloudflare-builds',
    'cloudflare-docs',
    'cloudflare-observability',
  ],
};

async function example(): Promise<Config> {
  const result = parseConfig(await readFile(join(root, 'examples/factory.yml'), 'utf8'), 'examples/factory.yml');
  if (!result.ok) throw new Error(result.problems.join('\n'));
  return result.config;
}

describe('examples/factory.yml', () => {
  it('configures the three repos, each with its own Tier-1 image, both lanes and the review lane, aina-platform with a Docker opt-in', async () => {
    const config = await example();
    expect(config.repos.map((r) => [r.repo, r.profiles])).toEqual([
      ['ainative-academy/aina-platform', ['ci-platform', 'ci-docker', 'codex', 'claude', 'review']],
      ['ainative-academy/aina-academy', ['ci-academy', 'codex', 'claude', 'review']],
      ['ainative-academy/aina-data-engine-room', ['ci-data', 'codex', 'claude', 'review']],
    ]);
    for (const [name, repo] of [
      ['ci-platform', 'aina-platform'],
      ['ci-academy', 'aina-academy'],
      ['ci-data', 'aina-data-engine-room'],
    ] as const) {
      const p = config.profiles[name]!;
      expect(p).toMatchObject({
        image: `factory/repo-${repo}:0.1.0`,
        trusted: false,
        network: 'bridge',
        mounts: [],
        mcp: [],
        envFiles: [],
      });
    }
    expect(config.profiles['ci-docker']).toMatchObject({
      trusted: false,
      network: 'bridge',
      mounts: [],
      docker: { sidecar: true, mode: 'rootless', storage: 10 * 1024 ** 3, memory: 2 * 1024 ** 3 },
    });
  });

  it('gives the codex lane its auth, gh and Paperclip, and no MCP server', async () => {
    const codex = (await example()).profiles.codex!;
    expect(codex).toMatchObject({ trusted: true, lane: 'codex', network: 'bridge', mcp: [] });
    expect(codex.mounts.map((m) => m.kind)).toEqual(['auth', 'gh', 'workspace']);
  });

  it('gives the claude lane all 13 MCP servers of the connection map by name, 3 stdio and 10 http', async () => {
    const claude = (await example()).profiles.claude!;
    expect(claude.mcp.filter((s) => 'command' in s).map((s) => s.name)).toEqual(SEED_MCP.stdio);
    expect(claude.mcp.filter((s) => 'url' in s).map((s) => s.name)).toEqual(SEED_MCP.http);
    // Each stdio server's command is one factory/base carries (test/images/factory-base.e2e.test.ts runs them);
    // codegraph's is a bash line that gives it a copy of the repo's index first (test/lanes/code-index.e2e.test.ts).
    expect(claude.mcp.filter((s) => 'command' in s).map((s) => ('command' in s ? s.command : ''))).toEqual([
      'uv',
      'bash',
      'playwright-mcp',
    ]);
    // GitHub's hosted server with the host's gh login, which the lane's broker adds: the job holds a placeholder.
    expect(claude).toMatchObject({ auth: 'broker' });
    expect(claude.mcp.find((s) => s.name === 'github')).toMatchObject({ credential: 'gh' });
  });

  it('mounts secrets, the PKM store and the gh login read-only into the claude lane (secrets and gh from the job folder), with Paperclip from one variable', async () => {
    const config = await example();
    const { mounts, env } = laneMounts(
      config,
      'claude',
      config.profiles.claude!,
      'ainative-academy/aina-platform',
      'factory-aina-platform-1-abc123',
    );
    const bySource = Object.fromEntries(mounts.filter((m) => m.Type === 'bind').map((m) => [m.Source, m]));
    // The secrets folder is never bound itself: its files are copied at the release into the job's own folder.
    expect(bySource['/srv/aina-hq/.secrets']).toBeUndefined();
    const secretsIndex = config.profiles.claude!.mounts.findIndex((m) => m.kind === 'secrets');
    expect(bySource[`${config.stateDir}/jobs/factory-aina-platform-1-abc123/secrets/${secretsIndex}`]).toMatchObject({
      Target: '/factory/secrets',
      ReadOnly: true,
    });
    expect(bySource[`${config.stateDir}/jobs/factory-aina-platform-1-abc123/release`]).toMatchObject({
      Target: '/factory/release',
      ReadOnly: true,
    });
    expect(bySource['/home/ali/PKM']).toMatchObject({ Target: '/data/pkm', ReadOnly: true });
    // Every repo's code index, where `factory index build` publishes it.
    expect(bySource[codeIndexRoot(config.stateDir)]).toMatchObject({ Target: '/data/codegraph', ReadOnly: true });
    // The gh login likewise: its hosts.yml holds a token, so it arrives with the release, never bound from the host.
    expect(bySource['/home/ali/.config/gh']).toBeUndefined();
    const ghIndex = config.profiles.claude!.mounts.findIndex((m) => m.kind === 'gh');
    expect(bySource[`${config.stateDir}/jobs/factory-aina-platform-1-abc123/gh/${ghIndex}`]).toMatchObject({
      Target: '/home/runner/.config/gh',
      ReadOnly: true,
    });
    expect(env).toMatchObject({
      PAPERCLIP_API_URL: 'http://127.0.0.1:3100',
      GH_CONFIG_DIR: '/home/runner/.config/gh',
      FACTORY_LANE: 'claude',
    });
  });

  it("gives the claude lane named files of the secrets store, never the store's breakglass note or index", async () => {
    const config = await example();
    const secrets = config.profiles.claude!.mounts.filter((m) => m.kind === 'secrets');
    expect(secrets).toHaveLength(1);
    const files = secrets[0]!.kind === 'secrets' ? secrets[0]!.files : undefined;
    expect(files).toContain('stripe-test.env');
    expect(files).not.toContain('contabo-root-breakglass.md');
    expect(files).not.toContain('INDEX.md');
    for (const p of Object.values(config.profiles))
      for (const m of p.mounts) if (m.kind === 'secrets') expect(m.files, 'a secrets mount given whole').toBeDefined();
  });

  it('keeps Paperclip out of Tier-1 jobs and sends both lanes to the same address', async () => {
    const config = await example();
    const envOf = (profile: string) =>
      laneMounts(
        config,
        profile,
        config.profiles[profile]!,
        'ainative-academy/aina-academy',
        'factory-aina-academy-2-abc123',
      ).env;
    expect(envOf('ci-academy')).not.toHaveProperty('PAPERCLIP_API_URL');
    expect(envOf('codex').PAPERCLIP_API_URL).toBe(envOf('claude').PAPERCLIP_API_URL);
  });
});

describe('the egress of the example lanes', () => {
  const LANES = ['codex', 'claude', 'review'] as const;
  const RUNNER = ['github.com', 'api.github.com', 'codeload.github.com', 'pipelines.actions.githubusercontent.com'];
  const CODEX = ['api.openai.com', 'chatgpt.com', 'auth.openai.com'];
  const CLAUDE = ['api.anthropic.com', 'console.anthropic.com'];
  const allows = (config: Config, profile: string, host: string, port = 443) =>
    decide(config.profiles[profile]!.egress!, host, port).allowed;

  it('puts every lane behind egress, on bridge: none keeps host networking, each reaches what it needs', async () => {
    const config = await example();
    for (const lane of LANES) {
      const p = config.profiles[lane]!;
      expect(p.network, lane).toBe('bridge');
      expect(p.egress, lane).toBeDefined();
      for (const host of RUNNER) expect(allows(config, lane, host), `${lane} ${host}`).toBe(true);
    }
    for (const host of CODEX) expect(allows(config, 'codex', host)).toBe(true);
    for (const host of CLAUDE) expect(allows(config, 'claude', host)).toBe(true);
    for (const host of [...CODEX, ...CLAUDE]) expect(allows(config, 'review', host)).toBe(true);
    // Every hosted MCP server of the claude lane, by the name its url gives: those its broker serves (credential:
    // oauth, the host claude's logins; credential: gh, the host's gh login) are reached from the host, so the job
    // needs, and gets, no way to their hosts; the others it reaches itself.
    const claude = config.profiles.claude!;
    const mcpHosts = claude.mcp.flatMap((s) => ('url' in s ? [new URL(s.url).hostname] : []));
    expect(mcpHosts).toHaveLength(SEED_MCP.http.length);
    const brokered = new Set(brokeredMcpServers(claude).map((s) => new URL(s.url).hostname));
    expect(brokered).toContain('api.githubcopilot.com');
    expect(brokered).toContain('mcp.linear.app');
    for (const host of mcpHosts) expect(allows(config, 'claude', host), host).toBe(!brokered.has(host));
    // The lanes that reach Paperclip get it relayed, and the one variable that names it follows the relay.
    expect(config.profiles.codex!.egress!.loopback).toEqual([3100]);
    expect(config.profiles.claude!.egress!.loopback).toEqual([3100]);
    expect(config.profiles.review!.egress!.loopback).toEqual([]);
    const lease = { network: 'n', address: '10.9.0.2', loopback: [3100] };
    expect(relayedValue(`PAPERCLIP_API_URL=${config.laneEnv.PAPERCLIP_API_URL}`, lease)).toBe(
      'PAPERCLIP_API_URL=http://10.9.0.2:3100',
    );
  });

  it('lists only what each lane needs: no other vendor, no upload host, no storage account, no paste site', async () => {
    const config = await example();
    for (const lane of LANES) {
      for (const host of ['pastebin.com', 'evil.blob.core.windows.net', 'upload.pypi.org', 'gist.github.com'])
        expect(allows(config, lane, host), `${lane} ${host}`).toBe(false);
      expect(allows(config, lane, 'api.github.com', 22), lane).toBe(false);
    }
    for (const host of CLAUDE) expect(allows(config, 'codex', host), host).toBe(false);
    for (const host of CODEX) expect(allows(config, 'claude', host), host).toBe(false);
    // Package downloads are the claude lane's alone (its pkm-agent MCP server builds its environment at job start).
    expect(allows(config, 'claude', 'files.pythonhosted.org')).toBe(true);
    expect(allows(config, 'codex', 'files.pythonhosted.org')).toBe(false);
    expect(allows(config, 'review', 'pypi.org')).toBe(false);
    // The review lane holds two logins and nothing else: it reaches no MCP server.
    expect(allows(config, 'review', 'mcp.linear.app')).toBe(false);
  });
});

describe('the gh mount kind', () => {
  const base = (mount: string, trusted: boolean) => `
github: { auth: { tokenEnv: T }, webhook: { secret: { env: S } } }
profiles:
  p: { labels: [x], image: i, trusted: ${trusted}, mounts: [${mount}] }
repos: [{ repo: o/r, profiles: [p] }]
`;

  it('is refused on an untrusted profile, since it carries a GitHub login', () => {
    expect(parseConfig(base('{ kind: gh, source: /home/ali/.config/gh }', false))).toMatchObject({
      ok: false,
      problems: [
        'profiles.p.mounts[0].kind: a gh mount needs a trusted profile: profile "p" is not trusted (set trusted: true only on lane profiles)',
      ],
      details: [{ line: 4, path: 'profiles.p.mounts[0].kind' }],
    });
  });

  it('has no read-write mode to ask for', () => {
    const result = parseConfig(base('{ kind: gh, source: /home/ali/.config/gh, mode: rw }', true));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problems[0]).toMatch(/^profiles\.p\.mounts\[0\]: Unrecognized key: "mode"/);
  });
});
