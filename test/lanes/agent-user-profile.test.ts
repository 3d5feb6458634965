import { describe, expect, it } from 'vitest';
import { parseConfig, type Config } from '../../controller/config/config.js';
import { containerSpec } from '../../controller/daemon/runner-spec.js';
import { laneMounts } from '../../controller/lanes/lane-layout.js';

const yaml = (agentUser: string) => `
github: { auth: { tokenEnv: T }, webhook: { secret: { env: S } } }
stateDir: /var/lib/factory
profiles:
  review:
    trusted: true
    labels: [self-hosted, factory, review]
    image: factory/lane:1
    agentUser: "${agentUser}"
    mounts: [{ kind: auth, agent: claude, source: /home/ali/.claude }]
repos: [{ repo: o/r, profiles: [review] }]
`;
function parseConfigText(text: string): Config {
  const result = parseConfig(text);
  if (!result.ok) throw new Error(result.problems.join('\n'));
  return result.config;
}
const identity = {
  instance: 'default',
  repo: 'o/r',
  profileName: 'review',
  jobId: 1,
  runnerId: 2,
  runnerName: 'factory-x',
};

describe('a profile with an agent user', () => {
  it('tells the action the user and the helper, and keeps what the helper needs to switch', () => {
    const config = parseConfigText(yaml('1001:1001'));
    const profile = config.profiles.review!;
    const lane = laneMounts(config, 'review', profile, 'o/r', 'factory-x');
    const spec = containerSpec(identity, profile, 'jit', lane);

    expect(spec.Env).toEqual(
      expect.arrayContaining([
        'FACTORY_AGENT_USER=1001:1001',
        'FACTORY_AGENT_EXEC=/usr/local/libexec/factory/agent-exec',
      ]),
    );
    expect(spec.HostConfig).toMatchObject({ SecurityOpt: [], CapAdd: ['SETUID', 'SETGID'] });
  });

  it('a profile without one keeps no-new-privileges', () => {
    // Not labelled review: a review-style profile without an agent user is refused (test/config/review-profile.test.ts).
    const config = parseConfigText(
      yaml('1001:1001')
        .replace(/ {4}agentUser.*\n/, '')
        .replace('factory, review]', 'factory, claude]'),
    );
    const spec = containerSpec(identity, config.profiles.review!, 'jit');

    expect(spec.HostConfig.SecurityOpt).toEqual(['no-new-privileges']);
    expect(spec.Env.join('\n')).not.toContain('FACTORY_AGENT_USER');
  });

  it('refuses root as the agent user, naming the field', () => {
    expect(() => parseConfigText(yaml('0:0'))).toThrow(
      /profiles\.review\.agentUser: expected a non-root "uid:gid", got "0:0"/,
    );
  });
});
