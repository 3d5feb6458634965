// GitHub's transient failures and rate limits retried in place: the policy of @octokit/plugin-retry and
// @octokit/plugin-throttling as the full client sets them up, without their Bottleneck queues. Every queue a request
// passes costs Bottleneck a few timer ticks, about 20 ms a call in all (measured against the loopback stand-in),
// which the JIT registration on every cold pickup's path should not pay. That call's concurrency is bounded by the
// controller's own caps (one registration per launch), so it needs no queue of its own.
import type { Octokit } from '@octokit/rest';

/** Statuses a retry cannot change (plugin-retry's list); a 403 or 429 is retried only as a rate limit. */
const FINAL = [400, 401, 403, 404, 410, 422, 451];
const TRANSIENT_RETRIES = 3;
/** What plugin-throttling waits on a secondary limit that names no `retry-after`. */
const SECONDARY_FALLBACK_SECONDS = 60;

interface FailedRequest {
  status?: unknown;
  message?: string;
  request?: unknown;
  response?: { headers?: Record<string, string | number | undefined>; data?: unknown };
}

export type RetryDecision =
  /** 5xx or no answer: wait `seconds` (1, 4, 9 as plugin-retry), then again. */
  | { kind: 'transient'; seconds: number }
  /** A rate limit: wait `seconds` if the limit handler agrees, then again. */
  | { kind: 'primary' | 'secondary'; seconds: number }
  | { kind: 'give-up' };

/** What to do after a failed request; `transientRetries` counts the 5xx retries made so far. Pure. */
export function retryDecision(err: unknown, transientRetries: number, now: number): RetryDecision {
  const e = err as FailedRequest;
  // Only Octokit's request errors (a network failure is one, as status 500 without a response).
  if (typeof e?.status !== 'number' || e.request === undefined) return { kind: 'give-up' };
  const headers = e.response?.headers ?? {};
  if (e.status === 403 || e.status === 429) {
    if (/\bsecondary rate\b/i.test(e.message ?? ''))
      return { kind: 'secondary', seconds: Number(headers['retry-after']) || SECONDARY_FALLBACK_SECONDS };
    const errors = (e.response?.data as { errors?: Array<{ type?: string }> } | undefined)?.errors;
    if (String(headers['x-ratelimit-remaining']) === '0' || (errors ?? []).some((x) => x.type === 'RATE_LIMITED')) {
      // One second past the reset, as GitHub advises.
      const reset = Number(headers['x-ratelimit-reset'] ?? 0) * 1000;
      return { kind: 'primary', seconds: Math.max(Math.ceil((reset - now) / 1000) + 1, 0) };
    }
  }
  if (e.status >= 400 && !FINAL.includes(e.status) && transientRetries < TRANSIENT_RETRIES)
    return { kind: 'transient', seconds: (transientRetries + 1) ** 2 };
  return { kind: 'give-up' };
}

export interface RetryOptions {
  /** Milliseconds per second of wait (tests shrink it). */
  retryAfterBaseValue: number;
  /** Asked before each rate-limit retry, as plugin-throttling asks onRateLimit and onSecondaryRateLimit: true retries. */
  onRateLimit(
    kind: 'primary' | 'secondary',
    retryAfter: number,
    options: { method: string; url: string },
    retryCount: number,
  ): boolean;
}

/** Wraps every request of `octokit` (outside its auth, so a retry is authenticated afresh) in the policy above. */
export function retryInPlace(octokit: Octokit, opts: RetryOptions): void {
  octokit.hook.wrap('request', async (request, options) => {
    let transient = 0;
    let limited = 0;
    for (;;) {
      try {
        return await request(options);
      } catch (err) {
        const next = retryDecision(err, transient, Date.now());
        if (next.kind === 'give-up') throw err;
        if (next.kind === 'transient') transient++;
        else if (opts.onRateLimit(next.kind, next.seconds, options, limited)) limited++;
        else throw err;
        await new Promise((resolve) => setTimeout(resolve, next.seconds * opts.retryAfterBaseValue));
      }
    }
  });
}
