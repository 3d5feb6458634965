// Lane profile settings: every refusal of the schema, MCP files as the real CLIs read them, the host path map.
import { afterAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { configSchema, parseConfig, type McpServer } from '../../controller/config/config.js';
import { parseEnvText } from '../../controller/lanes/env-file.js';
import { toHostPath } from '../../controller/config/host-path-map.js';
import { renderClaudeMcp, renderCodexMcp } from '../../controller/lanes/mcp-render.js';
import { stringify } from 'yaml';

const run = promisify(execFile);

function withProfile(profile: Record<string, unknown>) {
  return stringify({
    github: { auth: { tokenEnv: 'T' }, webhook: { secret: { env: 'S' } } },
    profiles: { ci: { labels: ['self-hosted', 'factory', 'ci'], image: 'ci:1', ...profile } },
    repos: [{ repo: 'o/r', profiles: ['ci'] }],
  });
}
const problems = (profile: Record<string, unknown>) => {
  const r = parseConfig(withProfile(profile));
  return r.ok ? [] : r.problems;
};

describe('lane profile refusals', () => {
  const untrusted = 'profile "ci" is not trusted (set trusted: true only on lane profiles)';

  it.each([
    ['auth', { kind: 'auth', agent: 'codex', source: '/home/ali/.codex' }],
    ['secrets', { kind: 'secrets', source: '/srv/aina-hq/.secrets' }],
    ['data', { kind: 'data', source: '/srv/pkm', target: '/data/pkm' }],
  ])('refuses a %s mount on a profile that is not trusted', (kind, mount) => {
    expect(problems({ mounts: [mount] })).toEqual([
      `profiles.ci.mounts[0].kind: a ${kind} mount needs a trusted profile: ${untrusted}`,
    ]);
  });

  it('refuses host networking and env files on a profile that is not trusted', () => {
    expect(problems({ network: 'host', envFiles: ['/srv/aina-hq/.secrets/linear.env'] })).toEqual([
      `profiles.ci.network: host networking needs a trusted profile: ${untrusted}`,
      `profiles.ci.envFiles: env files carry secrets and need a trusted profile: ${untrusted}`,
    ]);
  });

  it('refuses the Docker socket on an untrusted profile even with allowDockerSocket', () => {
    const mount = { kind: 'bind', source: '/var/run/docker.sock', target: '/var/run/docker.sock', mode: 'rw' };
    expect(problems({ mounts: [mount], allowDockerSocket: true, dockerSocketReason: 'builds images' })).toEqual([
      expect.stringMatching(
        /^profiles\.ci\.mounts\[0\]\.source: \/var\/run\/docker\.sock( \(on the host: \/run\/docker\.sock\))? is or holds the Docker socket, which cannot be mounted: profile "ci" is not trusted/,
      ),
    ]);
  });

  it('refuses the Docker socket on a trusted profile unless allowed with a reason', () => {
    const mount = { kind: 'bind', source: '/run/docker.sock', target: '/var/run/docker.sock', mode: 'rw' };
    expect(problems({ trusted: true, mounts: [mount] })).toEqual([
      'profiles.ci.mounts[0].source: mounting the Docker socket gives the job root on the host: write allowDockerSocket: true with a dockerSocketReason on profile "ci"',
    ]);
    expect(problems({ trusted: true, mounts: [mount], allowDockerSocket: true })).toEqual([
      'profiles.ci.mounts[0].source: mounting the Docker socket gives the job root on the host: write allowDockerSocket: true with a dockerSocketReason on profile "ci"',
      'profiles.ci.dockerSocketReason: allowDockerSocket: true needs a dockerSocketReason on profile "ci"',
    ]);
    expect(
      problems({ trusted: true, mounts: [mount], allowDockerSocket: true, dockerSocketReason: 'the image-build lane' }),
    ).toEqual([]);
  });

  it('refuses a credential name without an auth mount, relative paths and unknown mount kinds', () => {
    expect(problems({ trusted: true, credential: 'codex-ali' })).toEqual([
      'profiles.ci.credential: profile "ci" names a credential but has no auth mount',
    ]);
    expect(problems({ trusted: true, mounts: [{ kind: 'data', source: 'pkm', target: '/data/pkm' }] })).toEqual([
      'profiles.ci.mounts[0].source: expected an absolute path, got "pkm"',
    ]);
    expect(problems({ mounts: [{ kind: 'docker', source: '/x', target: '/y' }] })).toEqual([
      'profiles.ci.mounts[0].kind: expected a mount with kind auth, secrets, data, gh, workspace, cache or bind, got kind "docker"',
    ]);
  });

  it('accepts a Tier-3 profile equivalent to the org connection map', () => {
    const r = parseConfig(withProfile(SEED_TIER3));
    expect(r.ok ? [] : r.problems).toEqual([]);
  });
});

/** The org's connection map (docs/real-host.md) as one profile: both logins, secrets, the PKM store, Paperclip on loopback, MCP. */
export const SEED_TIER3 = {
  trusted: true,
  lane: 'claude',
  network: 'host',
  probes: ['http://127.0.0.1:3100/api/health'],
  credential: 'ali-subscriptions',
  mounts: [
    { kind: 'auth', agent: 'codex', source: '/home/ali/.codex' },
    { kind: 'auth', agent: 'claude', source: '/home/ali/.claude', claudeJson: '/home/ali/.claude.json' },
    { kind: 'secrets', source: '/srv/aina-hq/.secrets' },
    { kind: 'data', source: '/home/ali/PKM', target: '/data/pkm' },
    { kind: 'workspace' },
  ],
  envFiles: ['/srv/aina-hq/.secrets/linear.env', '/srv/aina-hq/.secrets/sentry-api-token.env'],
  mcp: [
    {
      name: 'pkm-agent',
      command: 'uv',
      args: ['--directory', '/data/pkm-agent', 'run', 'pkm-agent'],
      env: { PKM_STORE: '/data/pkm' },
    },
    { name: 'codegraph', command: 'codegraph', args: ['serve', '--mcp', '--no-watch'] },
    { name: 'playwright', command: 'npx', args: ['@playwright/mcp@0.0.41'] },
    {
      name: 'github',
      command: 'github-mcp-server',
      args: ['stdio'],
      env: { GITHUB_TOOLSETS: 'repos,issues,pull_requests' },
    },
    { name: 'linear', url: 'https://mcp.linear.app/mcp', tokenEnv: 'LINEAR_TOKEN' },
    { name: 'sentry', url: 'https://mcp.sentry.dev/mcp', tokenEnv: 'SENTRY_TOKEN' },
    { name: 'cloudflare-docs', url: 'https://docs.mcp.cloudflare.com/mcp' },
  ],
};

describe('MCP rendering, read back by the real CLIs', () => {
  const made: string[] = [];
  const tempDir = (prefix: string) => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    made.push(dir);
    return dir;
  };
  afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const servers = configSchema.shape.profiles.parse({ ci: { labels: ['x'], image: 'x', mcp: SEED_TIER3.mcp } }).ci!
    .mcp as McpServer[];

  it('codex lists every rendered server with its transport and token variable', async () => {
    const home = tempDir('factory-codex-home-');
    writeFileSync(join(home, 'config.toml'), renderCodexMcp(servers));
    const { stdout } = await run('node_modules/.bin/codex', ['mcp', 'list', '--json'], {
      env: { ...process.env, CODEX_HOME: home },
    });
    const listed = JSON.parse(stdout) as Array<{ name: string; transport: Record<string, unknown> }>;
    const byName = Object.fromEntries(listed.map((s) => [s.name, s.transport]));

    expect(Object.keys(byName).sort()).toEqual(servers.map((s) => s.name).sort());
    expect(byName['pkm-agent']).toMatchObject({
      type: 'stdio',
      command: 'uv',
      args: ['--directory', '/data/pkm-agent', 'run', 'pkm-agent'],
      env: { PKM_STORE: '/data/pkm' },
    });
    expect(byName.linear).toMatchObject({
      type: 'streamable_http',
      url: 'https://mcp.linear.app/mcp',
      bearer_token_env_var: 'LINEAR_TOKEN',
    });
    expect(byName['cloudflare-docs']).toMatchObject({ type: 'streamable_http', bearer_token_env_var: null });
  });

  it('claude lists every rendered server from the --mcp-config JSON', async () => {
    const project = tempDir('factory-claude-project-');
    const home = join(project, 'home');
    mkdirSync(home);
    // `claude mcp list` reads a project's .mcp.json; servers wait for approval, so it connects to none of them.
    writeFileSync(join(project, '.mcp.json'), renderClaudeMcp(servers));
    const { stdout } = await run(join(process.cwd(), 'node_modules/.bin/claude'), ['mcp', 'list'], {
      cwd: project,
      env: { ...process.env, HOME: home, CLAUDE_CONFIG_DIR: join(home, '.claude') },
      timeout: 60_000,
    });

    for (const s of servers) expect(stdout).toMatch(new RegExp(`^${s.name}: `, 'm'));
    expect(stdout).toMatch(/^linear: https:\/\/mcp\.linear\.app\/mcp \(HTTP\)/m);
    expect(stdout).toMatch(/^codegraph: codegraph serve --mcp --no-watch/m);
    expect(JSON.parse(renderClaudeMcp(servers)).mcpServers.linear.headers).toEqual({
      Authorization: 'Bearer ${LINEAR_TOKEN}',
    });
  }, 90_000);
});

describe('host path map', () => {
  const map = [
    { from: '/srv', to: '/mnt/host/srv' },
    { from: '/srv/aina-hq/.secrets', to: '/secure/secrets' },
  ];

  it('translates by the longest matching prefix and leaves other paths alone', () => {
    expect(toHostPath('/srv/repos/aina-platform', map)).toBe('/mnt/host/srv/repos/aina-platform');
    expect(toHostPath('/srv/aina-hq/.secrets/linear.env', map)).toBe('/secure/secrets/linear.env');
    expect(toHostPath('/srv', map)).toBe('/mnt/host/srv');
    expect(toHostPath('/srvx/other', map)).toBe('/srvx/other');
    expect(toHostPath('/home/ali', map)).toBe('/home/ali');
  });
});

describe('env files', () => {
  it('reads KEY=VALUE lines, skipping comments and removing quotes', () => {
    expect(parseEnvText('# stripe\nSTRIPE_KEY="sk_test_1"\nexport A=b\n\nEMPTY=\n', 'stripe.env')).toEqual({
      STRIPE_KEY: 'sk_test_1',
      A: 'b',
      EMPTY: '',
    });
  });

  it('reads values as Node does: a # after an unquoted value is a comment, quotes keep it, double quotes expand \\n', () => {
    const text =
      'A=plain # the comment\nB="has # hash"\nC=\'single # too\'\nD="two\\nlines"\nE="spans\nlines"\nF=after\n';
    expect(parseEnvText(text, 'x.env')).toEqual({
      A: 'plain',
      B: 'has # hash',
      C: 'single # too',
      D: 'two\nlines',
      E: 'spans\nlines',
      F: 'after',
    });
  });

  it('names the file and line of a malformed entry without quoting it', () => {
    expect(() => parseEnvText('OK=1\nsk_live_oops\n', '/s/stripe.env')).toThrow(
      /^\/s\/stripe\.env:2: expected KEY=VALUE$/,
    );
  });
});
