// What a scale-set listener does when the service refuses it. The official listener returns on any of these and
// its process dies; users then find a second session blocked (409) or their cursor gone. Each answer here keeps the
// cursor and the jobs it holds, so nothing is lost or run twice.
import { ActionsServiceError } from '../github/actions-service.js';

export type Recovery =
  /** The queue token expired (401): a PATCH of the session gives a new one. */
  | 'refresh-session'
  /** The session is gone (404: evicted, or expired while we were away): make a new one. */
  | 'new-session'
  /** The scale set itself is gone (404 where it was addressed): find it again by name, or create it. */
  | 'find-scale-set'
  /** Another session is live (409, a crashed listener's): wait until the service lets it lapse, then try again. */
  | 'wait-for-session'
  /** Anything else (network, 5xx): wait a little and try the same step again. */
  | 'retry';

/** Where the listener was when it failed: making a session, refreshing it, or using it (poll, ack, acquire). */
export type ListenerStep = 'find-scale-set' | 'create-session' | 'refresh-session' | 'use-session';

export function recoveryFor(step: ListenerStep, err: unknown): Recovery {
  const status = err instanceof ActionsServiceError ? err.status : 0;
  if (step === 'create-session')
    return status === 409 ? 'wait-for-session' : status === 404 ? 'find-scale-set' : 'retry';
  if (step === 'refresh-session') return status === 404 ? 'new-session' : 'retry';
  if (step === 'use-session') return status === 401 ? 'refresh-session' : status === 404 ? 'new-session' : 'retry';
  return 'retry';
}

/** Backoff for retries and 409 waits: doubling from `first`, capped at `max`. */
export function backoff(attempt: number, first: number, max: number): number {
  return Math.min(max, first * 2 ** Math.min(attempt, 16));
}
