// examples/factory.yml is the whole org with its connection map (docs/real-host.md); the real-host guide starts from it, so it must stay valid and
// keep every connection of the map.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig, type Config } from '../../controller/config/config.js';
import { laneMounts } from '../../controller/lanes/lane-layout.js';

const root = join(import.meta.dirname, '../..');
const SEED_MCP = {
  stdio: ['pkm-agent', 'codegraph', 'playwright', 'github'],
  http: [
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
    expect(codex).toMatchObject({ trusted: true, lane: 'codex', network: 'host', mcp: [] });
    expect(codex.mounts.map((m) => m.kind)).toEqual(['auth', 'gh', 'workspace']);
  });

  it('gives the claude lane all 13 MCP servers of the connection map by name, 4 stdio and 9 http', async () => {
    const claude = (await example()).profiles.claude!;
    expect(claude.mcp.filter((s) => 'command' in s).map((s) => s.name)).toEqual(SEED_MCP.stdio);
    expect(claude.mcp.filter((s) => 'url' in s).map((s) => s.name)).toEqual(SEED_MCP.http);
    // Each stdio server's command is one factory/base carries (test/images/factory-base.e2e.test.ts runs them).
    expect(claude.mcp.filter((s) => 'command' in s).map((s) => ('command' in s ? s.command : ''))).toEqual([
      'uv',
      'codegraph',
      'playwright-mcp',
      'bash',
    ]);
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
