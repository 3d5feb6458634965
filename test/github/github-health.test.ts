// GitHub's health per repo, from the outcomes the client reports: unknown until GitHub answers, the worst state wins
// the summary, and the last failure stays visible after recovery.
import { describe, expect, it } from 'vitest';
import { GitHubHealth } from '../../controller/github/github-health.js';

describe('GitHubHealth', () => {
  it('is unknown for every repo before GitHub has answered', () => {
    expect(new GitHubHealth().snapshot(['a/one', 'a/two'])).toEqual({
      state: 'unknown',
      repos: [
        { repo: 'a/one', state: 'unknown' },
        { repo: 'a/two', state: 'unknown' },
      ],
    });
  });

  it('summarises by the worst repo: a rejected token outranks a forbidden repo, which outranks ok', () => {
    let now = 1_000;
    const h = new GitHubHealth(() => now);
    h.onResult('a/one', 'ok');
    h.onResult('A/Two', 'forbidden', 'GitHub 403 on GET runners for A/Two: Resource not accessible');
    expect(h.snapshot(['a/one', 'a/two'])).toEqual({
      state: 'forbidden',
      repos: [
        { repo: 'a/one', state: 'ok', since: 1_000, checkedAt: 1_000 },
        {
          repo: 'a/two',
          state: 'forbidden',
          since: 1_000,
          checkedAt: 1_000,
          lastError: 'GitHub 403 on GET runners for A/Two: Resource not accessible',
          lastErrorAt: 1_000,
        },
      ],
    });
    now = 2_000;
    h.onResult('a/one', 'unauthorised', 'GitHub 401 on GET runners for a/one: Bad credentials');
    expect(h.snapshot(['a/one', 'a/two']).state).toBe('unauthorised');
  });

  it('keeps the last error after recovery, and dates the state from its change, not from each call', () => {
    let now = 1_000;
    const h = new GitHubHealth(() => now);
    h.onResult('a/one', 'unreachable', 'GitHub unreachable on GET runners for a/one: ECONNREFUSED');
    now = 5_000;
    h.onResult('a/one', 'ok');
    now = 9_000;
    h.onResult('a/one', 'ok');
    expect(h.snapshot(['a/one']).repos[0]).toEqual({
      repo: 'a/one',
      state: 'ok',
      since: 5_000,
      checkedAt: 9_000,
      lastError: 'GitHub unreachable on GET runners for a/one: ECONNREFUSED',
      lastErrorAt: 1_000,
    });
  });

  it('a repo dropped from the config drops out of the summary', () => {
    const h = new GitHubHealth();
    h.onResult('a/gone', 'unauthorised', 'x');
    h.onResult('a/kept', 'ok');
    expect(h.snapshot(['a/kept']).state).toBe('ok');
  });
});
