// The JIT registration's retry policy (request-retry.ts): what each failure leads to, as the full client's retry and
// throttling plugins decide it.
import { describe, expect, it } from 'vitest';
import { retryDecision } from '../../controller/github/request-retry.js';

const NOW = Date.UTC(2026, 0, 1);
/** A failure as Octokit's request throws it: a status, the request, and the response when one came. */
const failure = (status: number, message = 'failed', headers: Record<string, string> = {}, data?: unknown) => ({
  name: 'HttpError',
  status,
  message,
  request: { method: 'POST', url: '/repos/o/r/actions/runners/generate-jitconfig' },
  response: { status, headers, data },
});

describe('retryDecision', () => {
  it('retries a 5xx three times, waiting 1, 4 and 9 seconds, then gives up', () => {
    const err = failure(502, 'Bad Gateway');
    expect([0, 1, 2, 3].map((n) => retryDecision(err, n, NOW))).toEqual([
      { kind: 'transient', seconds: 1 },
      { kind: 'transient', seconds: 4 },
      { kind: 'transient', seconds: 9 },
      { kind: 'give-up' },
    ]);
  });

  it('retries a request that got no answer (Octokit says 500 without a response)', () => {
    const { response: _, ...noAnswer } = failure(500, 'connect ECONNREFUSED');
    expect(retryDecision(noAnswer, 0, NOW)).toEqual({ kind: 'transient', seconds: 1 });
  });

  it('waits for retry-after on a secondary rate limit, or a minute when it names none', () => {
    const message = 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.';
    expect(retryDecision(failure(403, message, { 'retry-after': '2' }), 0, NOW)).toEqual({
      kind: 'secondary',
      seconds: 2,
    });
    expect(retryDecision(failure(429, message), 0, NOW)).toEqual({ kind: 'secondary', seconds: 60 });
  });

  it('waits until one second past the reset of a spent primary limit', () => {
    const reset = String(NOW / 1000 + 30);
    const spent = failure(403, 'API rate limit exceeded', { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset });
    expect(retryDecision(spent, 0, NOW)).toEqual({ kind: 'primary', seconds: 31 });
    const graphqlStyle = failure(403, 'limited', {}, { errors: [{ type: 'RATE_LIMITED' }] });
    expect(retryDecision(graphqlStyle, 0, NOW)).toMatchObject({ kind: 'primary' });
  });

  it('gives up at once on what a retry cannot change', () => {
    for (const status of [400, 401, 403, 404, 410, 422, 451])
      expect(retryDecision(failure(status), 0, NOW), `${status}`).toEqual({ kind: 'give-up' });
    expect(retryDecision(new Error('not a request error'), 0, NOW)).toEqual({ kind: 'give-up' });
  });

  it('retries a 429 that names no limit as a transient failure, as plugin-retry does', () => {
    expect(retryDecision(failure(429), 0, NOW)).toEqual({ kind: 'transient', seconds: 1 });
  });
});
