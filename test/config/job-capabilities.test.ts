// docs/job-capabilities.md says what jobs can and cannot do per profile kind. It must stay what the controller does:
// the table is what `factory capabilities --by-kind` prints for examples/factory.yml, its claims are checked here
// against the container a launch creates, and every profile key of the config schema is sorted into keys that change
// what a job can do and keys that do not.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig, type Config } from '../../controller/config/config.js';
import {
  CAPABILITY_KEYS,
  NOT_CAPABILITY_KEYS,
  capabilityTable,
  jobCapabilities,
} from '../../controller/daemon/job-capabilities.js';
import { planLaunch } from '../../controller/daemon/launch-plan.js';
import { main } from '../../controller/commands/cli.js';

const root = join(import.meta.dirname, '../..');

async function example(): Promise<Config> {
  const result = parseConfig(await readFile(join(root, 'examples/factory.yml'), 'utf8'), 'examples/factory.yml');
  if (!result.ok) throw new Error(result.problems.join('\n'));
  return result.config;
}

/** The table between the markers of docs/job-capabilities.md, as rows of cells by column name. */
async function documented() {
  const doc = await readFile(join(root, 'docs/job-capabilities.md'), 'utf8');
  const block = /<!-- capabilities:start[^>]*-->\n([\s\S]*?)\n<!-- capabilities:end -->/.exec(doc);
  if (!block) throw new Error('docs/job-capabilities.md: no capabilities block');
  const [header, , ...rows] = block[1]!.split('\n').map((line) =>
    line
      .slice(2, -2)
      .split(' | ')
      .map((c) => c.replace(/\\\|/g, '|')),
  );
  return {
    text: block[1]!,
    rows: rows.map((cells) => Object.fromEntries(header!.map((h, i) => [h, cells[i]!]))),
  };
}

/** The container a job on `profileName` gets, as a launch plans it. */
function launched(config: Config, profileName: string) {
  const profile = config.profiles[profileName]!;
  const job = { key: '1', limits: [], jobId: 1, repo: config.repos[0]!.repo, profileName, profile, receivedAt: 0 };
  return planLaunch(config, job, []).container;
}

describe('docs/job-capabilities.md', () => {
  it('is the table `factory capabilities --by-kind` prints for examples/factory.yml', async () => {
    const out: string[] = [];
    const code = await main(['capabilities', '--config', join(root, 'examples/factory.yml'), '--by-kind'], {
      stdout: (s) => out.push(s),
      stderr: (s) => out.push(s),
    });
    expect(code).toBe(0);
    expect((await documented()).text).toBe(out.join('\n'));
  });

  it('has a row for each kind of the example config, in order, the Docker opt-in last', async () => {
    const { rows } = await documented();
    expect(rows.map((r) => [r['Profile kind'], r['Example profile']])).toEqual([
      ['Tier 1: plain CI', '`ci-platform`'],
      ['Tier 2: codex lane', '`codex`'],
      ['Tier 3: claude lane', '`claude`'],
      ['Review lane (pull-request content)', '`review`'],
      ['Docker opt-in', '`ci-docker`'],
    ]);
  });

  it('says what the containers a launch creates do: Docker, network, sudo, caches and secrets per kind', async () => {
    const config = await example();
    const { rows } = await documented();
    for (const row of rows.slice(0, 4)) {
      const name = row['Example profile']!.replace(/`/g, '');
      const spec = launched(config, name);
      const profile = config.profiles[name]!;
      const sockets = spec.HostConfig.Mounts.filter((m) => m.Source.endsWith('docker.sock'));
      // No kind of the example gets Docker, so none gets services: or container: either.
      expect(sockets).toEqual([]);
      expect(row.Docker).toMatch(/^no:/);
      expect(row['`services:`']).toMatch(/^no:/);
      expect(row['`container:`']).toMatch(/^no:/);
      expect(spec.HostConfig.Privileged).toBe(false);
      expect(spec.HostConfig.CapDrop).toEqual(['ALL']);
      // A lane runs its agent as its own user: the helper's switch keeps SETUID/SETGID and voids no-new-privileges.
      if (profile.agentUser) {
        expect(spec.HostConfig.SecurityOpt).toEqual([]);
        expect(spec.HostConfig.CapAdd).toEqual(['SETUID', 'SETGID']);
        expect(row['`sudo`']).toBe(
          `no: uid ${spec.User}, every capability dropped but SETUID, SETGID (kept for the agent-user switch)`,
        );
      } else {
        expect(spec.HostConfig.SecurityOpt).toContain('no-new-privileges');
        expect(row['`sudo`']).toBe(`no: uid ${spec.User}, no-new-privileges, every capability dropped`);
      }
      expect(row['Host network']!.startsWith('yes')).toBe(spec.HostConfig.NetworkMode === 'host');
      const kept = profile.mounts.filter((m) => m.kind === 'cache');
      expect(row['Caches between jobs']!.startsWith('none')).toBe(kept.length === 0);
      for (const m of spec.HostConfig.Mounts.filter((x) => x.Type === 'bind' && x.Target.startsWith('/data')))
        expect(m.ReadOnly).toBe(true);
    }
    const [tier1, codex, claude, review] = rows;
    expect(review!.Secrets).toContain('codex subscription login');
    expect(review!.Secrets).toContain('claude subscription login');
    expect(review!.Secrets).not.toMatch(/secrets store|gh login|values of|MCP tokens/);
    expect(review!['Host network']).toMatch(/^no:/);
    // A brokered lane behind egress reaches its broker through the gateway too: the cell says so, a copying one does not.
    expect(claude!['Host network']).toContain("its model broker at the gateway's port 3129");
    expect(codex!['Host network']).toContain("its model broker at the gateway's port 3129");
    expect(review!['Host network']).not.toContain('broker');
    expect(tier1!.Secrets).toContain('nothing from the host');
    expect(launched(config, 'ci-platform').HostConfig.Mounts).toEqual([]);
    // The example's lanes are brokered (auth: broker): they hold a placeholder, the review lane a copy.
    expect(codex!.Secrets).toContain("a placeholder for the host's codex login");
    expect(codex!.Secrets).not.toContain('subscription login');
    expect(claude!.Secrets).toContain("a placeholder for the host's claude login");
    expect(codex!.Secrets).not.toContain('secrets store');
    expect(claude!.Secrets).toContain('the secrets store (read-only at /factory/secrets)');
    for (const token of config.profiles.claude!.mcp.flatMap((s) => ('tokenEnv' in s && s.tokenEnv ? [s.tokenEnv] : [])))
      expect(claude!.Secrets).toContain(token);
  });

  it("says what the Docker opt-in's launch gives: its own engine through a socket volume, never the host's", async () => {
    const config = await example();
    const row = (await documented()).rows[4]!;
    const spec = launched(config, 'ci-docker');
    expect(spec.Env).toContain('DOCKER_HOST=unix:///run/factory-docker/docker.sock');
    expect(spec.HostConfig.Mounts.filter((m) => m.Source.endsWith('docker.sock'))).toEqual([]);
    expect(spec.HostConfig.NetworkMode).toMatch(/^container:factory-.*-docker$/);
    expect(spec.HostConfig.Privileged).toBe(false);
    expect(spec.HostConfig.CapDrop).toEqual(['ALL']);
    expect(row.Docker).toBe(
      'its own engine: a rootless dockerd sidecar for this job alone, 10g of storage, removed with the job',
    );
    expect(row['`services:`']).toBe("yes, on its own engine; published ports answer on the job's localhost");
    expect(row['`container:`']).toBe(row['`services:`']);
    expect(row['Host network']).toBe(
      'no: own network namespace (bridge, shared with its Docker sidecar), outbound through NAT',
    );
    expect(row.Secrets).toContain('nothing from the host');
  });

  it('changes when a profile changes what a job can do (the table is derived, not written)', async () => {
    const config = await example();
    const ci = config.profiles['ci-platform']!;
    const opened = {
      ...ci,
      trusted: true, // the trust gate allows host networking and env files on trusted profiles only
      network: 'host',
      mounts: [{ kind: 'cache' as const, name: 'pnpm', target: '/home/runner/.pnpm-store' }],
      envFiles: ['/etc/factory/ci.env'],
    };
    expect(jobCapabilities(config, 'ci-platform', opened)).toMatchObject({
      'Host network': "yes: the host's network and loopback services",
      'Caches between jobs': 'kept per repo (an org runner: per org) and profile: pnpm at /home/runner/.pnpm-store',
      Secrets: "the job's GITHUB_TOKEN and what its workflow passes, values of /etc/factory/ci.env",
    });
  });

  it('accounts for every profile key of the config schema', async () => {
    const schema = JSON.parse(await readFile(join(root, 'schema/factory.schema.json'), 'utf8'));
    const profiles = schema.properties.profiles;
    const profile = profiles.additionalProperties ?? Object.values(profiles.patternProperties ?? {})[0];
    const keys = Object.keys(profile.properties);
    const sorted = new Set<string>([...CAPABILITY_KEYS, ...NOT_CAPABILITY_KEYS]);
    const unsorted = keys.filter((k) => !sorted.has(k));
    expect(
      unsorted,
      'profile keys not sorted in controller/daemon/job-capabilities.ts (say whether each changes what a job can do, and if so, show it in the table)',
    ).toEqual([]);
    expect([...sorted].filter((k) => !keys.includes(k))).toEqual([]);
  });

  it('lists every profile of a config by name without --by-kind', async () => {
    const config = await example();
    const table = capabilityTable(config);
    expect(
      table
        .split('\n')
        .slice(2)
        .map((r) => r.split(' | ')[1]),
    ).toEqual(Object.keys(config.profiles).map((n) => `\`${n}\``));
  });
});

describe("a lane's MCP tokens in its capabilities", () => {
  const yaml = (auth: string) => `
github: { auth: { tokenEnv: T }, webhook: { secret: { env: S } } }
profiles:
  lane:
    trusted: true
    labels: [self-hosted, lane]
    image: factory/base:0.1.0
    network: host
    auth: ${auth}
    mounts: [{ kind: auth, agent: claude, source: /home/u/.claude }]
    envFiles: [/home/u/lane.env]
    mcp: [{ name: linear, url: https://mcp.linear.app/mcp, tokenEnv: LINEAR_API_KEY }]
repos: [{ repo: o/r, profiles: [lane] }]
`;
  const secrets = (auth: string) => {
    const parsed = parseConfig(yaml(auth));
    if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
    return jobCapabilities(parsed.config, 'lane', parsed.config.profiles.lane!).Secrets;
  };

  it('says a brokered lane holds a placeholder for them, and a copying lane the tokens', () => {
    expect(secrets('broker')).toContain('a placeholder for MCP tokens LINEAR_API_KEY');
    expect(secrets('copy')).toContain('MCP tokens LINEAR_API_KEY');
    expect(secrets('copy')).not.toContain('placeholder for MCP');
  });
});
