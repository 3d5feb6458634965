// Whose caches a runner mounts: a repo runner's repo's; an org runner's, the org's, since GitHub may hand it the job of
// any repo its runner group admits and a per-repo key would only pretend to keep the repos apart.
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../controller/config/config.js';
import { planLaunch } from '../../controller/daemon/launch-plan.js';

const config = configSchema.parse({
  github: { auth: { tokenEnv: 'T' }, webhook: { secret: { env: 'S' } } },
  stateDir: '/var/lib/factory',
  profiles: {
    ci: { labels: ['self-hosted', 'linux'], image: 'x', mounts: [{ kind: 'cache', name: 'pnpm', target: '/pnpm' }] },
  },
  repos: [{ repo: 'acme/tools', profiles: ['ci'] }],
  orgs: [
    { name: 'acme', include: ['api-*'], profiles: ['ci'] },
    { name: 'globex', profiles: ['ci'] },
  ],
});

/** The host folder a job of `repo` gets at /pnpm. */
function cacheOf(repo: string): string {
  const profile = config.profiles.ci!;
  const plan = planLaunch(
    config,
    { key: '1', limits: [], jobId: 1, repo, profileName: 'ci', profile, receivedAt: 0 },
    [],
  );
  const mount = plan.container.HostConfig?.Mounts?.find((m) => m.Target === '/pnpm');
  if (!mount?.Source) throw new Error(`no cache mount for ${repo}`);
  return mount.Source;
}

describe('cache scope', () => {
  it("gives every org runner of an org the org's cache, whichever covered repo it was made for", () => {
    expect(cacheOf('acme/api-one')).toBe(cacheOf('acme/api-two'));
    expect(cacheOf('acme/api-one')).toMatch(/^\/var\/lib\/factory\/caches\/org-acme-ci-pnpm-[0-9a-f]{8}$/);
  });

  it("keeps a repo runner's cache its repo's, and another org's apart", () => {
    expect(cacheOf('acme/tools')).toMatch(/^\/var\/lib\/factory\/caches\/acme-tools-ci-pnpm-[0-9a-f]{8}$/);
    expect(new Set([cacheOf('acme/tools'), cacheOf('acme/api-one'), cacheOf('globex/api-one')]).size).toBe(3);
  });
});
