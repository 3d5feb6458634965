// Pure decisions: which profile serves a job, and which waiting job starts next.
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../controller/config/config.js';
import { matchProfile } from '../../controller/daemon/profile-match.js';
import { Scheduler } from '../../controller/daemon/scheduler.js';

const config = configSchema.parse({
  github: { auth: { tokenEnv: 'T' }, webhook: { secret: { env: 'S' } } },
  profiles: {
    ci: { labels: ['factory', 'ci'], image: 'ci' },
    codex: { labels: ['self-hosted', 'factory', 'codex'], image: 'lane' },
  },
  repos: [{ repo: 'Org/Repo', profiles: ['ci', 'codex'] }],
});

describe('matchProfile', () => {
  it('matches when the profile provides every job label, self-hosted included, ignoring case', () => {
    expect(matchProfile(config, 'org/repo', ['self-hosted', 'Factory', 'CI'])?.profileName).toBe('ci');
    expect(matchProfile(config, 'org/repo', ['self-hosted', 'factory', 'codex'])?.profileName).toBe('codex');
    expect(matchProfile(config, 'org/repo', ['factory'])?.profileName).toBe('ci');
  });

  it('does not match a job asking for a label no profile has, or another repo', () => {
    expect(matchProfile(config, 'org/repo', ['self-hosted', 'factory', 'gpu'])).toBeUndefined();
    expect(matchProfile(config, 'org/other', ['self-hosted'])).toBeUndefined();
    expect(matchProfile(config, 'org/repo', [])).toBeUndefined();
  });
});

describe('Scheduler', () => {
  const item = (key: string, repo: string, repoMax = 1, globalMax = 2) => ({
    key,
    limits: [
      { pool: 'global', max: globalMax },
      { pool: repo, max: repoMax },
    ],
  });

  it('admits in arrival order up to each cap', () => {
    const s = new Scheduler();
    ['a1', 'a2', 'b1', 'b2'].forEach((k) => s.enqueue(item(k, k[0]!)));
    expect(s.admit().map((i) => i.key)).toEqual(['a1', 'b1']);
    expect(s.queued).toBe(2);
  });

  it('a job blocked by its repo cap does not hold back another repo', () => {
    const s = new Scheduler();
    s.enqueue(item('a1', 'a'));
    s.enqueue(item('a2', 'a'));
    s.enqueue(item('b1', 'b'));
    expect(s.admit().map((i) => i.key)).toEqual(['a1', 'b1']);
  });

  it('frees a slot on release and admits the next in line', () => {
    const s = new Scheduler();
    const first = item('a1', 'a');
    s.enqueue(first);
    s.enqueue(item('a2', 'a'));
    s.enqueue(item('a3', 'a'));
    s.admit();
    s.release(first);
    expect(s.admit().map((i) => i.key)).toEqual(['a2']);
  });

  it('drops a cancelled waiting job', () => {
    const s = new Scheduler();
    s.enqueue(item('a1', 'a', 0));
    expect(s.cancel('a1')).toBe(true);
    expect(s.cancel('a1')).toBe(false);
    expect(s.queued).toBe(0);
  });
});

describe('runner names', () => {
  it('carry the instance unless it is the default, and fit GitHub and Docker at 64 characters', async () => {
    const { runnerName, runnerPrefix } = await import('../../controller/daemon/runner-spec.js');
    expect(runnerName('ainative-academy/aina-platform', 42, 'default', 'abcdef')).toBe(
      'factory-aina-platform-42-abcdef',
    );
    expect(runnerName('ainative-academy/aina-platform', 42, 'staging', 'abcdef')).toBe(
      'factory.staging-aina-platform-42-abcdef',
    );
    const long = runnerName(`o/${'x'.repeat(100)}`, 123456789012, 'a-long-instance-name', 'abcdef');
    expect(long.length).toBeLessThanOrEqual(64);
    expect(long).toMatch(/^factory\.a-long-instance-name-x+-123456789012-abcdef$/);
    expect('factory.staging-aina-platform-42-abcdef'.startsWith(runnerPrefix('default'))).toBe(false);
  });
});
