// Lane profile settings: every refusal of the schema, the host path map, env files. The MCP files as the real CLIs
// read them: mcp-render.process.test.ts.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../controller/config/config.js';
import { parseEnvText } from '../../controller/lanes/env-file.js';
import { toHostPath } from '../../controller/config/host-path-map.js';
import { stringify } from 'yaml';
import { TIER3_PROFILE } from '../support/tier3-profile.js';

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
    const r = parseConfig(withProfile(TIER3_PROFILE));
    expect(r.ok ? [] : r.problems).toEqual([]);
  });
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
