// A key the config must have and does not: the message says it is required (and, where it is easy to leave out,
// what to add), never zod's bare "Invalid input".
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../controller/config/config.js';

const base = (ci: Record<string, unknown>, repo: Record<string, unknown> = { repo: 'o/r' }) => ({
  github: { auth: { tokenEnv: 'T' }, webhook: { secret: { env: 'S' } } },
  profiles: { ci: { labels: ['self-hosted', 'factory', 'ci'], image: 'ci:1', ...ci } },
  repos: [{ profiles: ['ci'], ...repo }],
});

const problems = (doc: unknown) => {
  const r = parseConfig(stringify(doc));
  return r.ok ? [] : r.problems;
};

describe('a missing required key', () => {
  it('warm.min without idleTimeout says idleTimeout is required and what it is for', () => {
    const found = problems(base({ warm: { min: 2 } }));
    expect(found).toEqual([
      expect.stringMatching(
        /^profiles\.ci\.warm\.idleTimeout: required with warm\.min: how long an idle warm runner waits before it is replaced, e\.g\. idleTimeout: 30m$/,
      ),
    ]);
    expect(found.join('\n')).not.toContain('Invalid input');
  });

  it('a missing string key says required', () => {
    expect(problems(base({}, { repo: undefined }))).toEqual([expect.stringMatching(/repos\[0\]\.repo: required$/)]);
  });

  it('a wrong value in the same union still says what was expected, not that it is required', () => {
    const found = problems(base({ warm: { min: 2, idleTimeout: 'soon' } }));
    expect(found).toEqual([expect.stringContaining('profiles.ci.warm.idleTimeout: expected a duration')]);
  });
});

describe('network none on backend swarm', () => {
  it('is refused at validate with what to use instead, and allowed on the local engine', () => {
    const doc = { ...base({ network: 'none' }), backend: 'swarm' };
    expect(problems(doc)).toEqual([
      expect.stringMatching(
        /profiles\.ci\.network: network "none" cannot be given to a swarm service: on backend swarm use host, or an overlay network/,
      ),
    ]);
    expect(problems(base({ network: 'none' }))).toEqual([]);
  });
});
