// One observer made of several (metrics, the timeline, a test's own), each shielded from the others: the controller
// calls observers in the middle of its work, and a failing one must never break a job or a GitHub call.
import type { JobObserver } from '../model/job.js';
import type { ApiObserver } from '../model/api-observer.js';
import type { Logger } from './logger.js';

export function jobObservers(log: Logger, ...observers: Array<JobObserver | undefined>): JobObserver {
  const all = observers.filter((o): o is JobObserver => o !== undefined);
  return {
    stage(jobId, stage, fields) {
      for (const o of all) {
        try {
          o.stage(jobId, stage, fields);
        } catch (err) {
          log.error({ jobId, stage, err: String(err) }, 'job observer failed');
        }
      }
    },
    credentialWriteBack(profile, outcome) {
      for (const o of all) {
        try {
          o.credentialWriteBack?.(profile, outcome);
        } catch (err) {
          log.error({ profile, outcome, err: String(err) }, 'job observer failed');
        }
      }
    },
    egressRefused(profile, count, seen) {
      for (const o of all) {
        try {
          o.egressRefused?.(profile, count, seen);
        } catch (err) {
          log.error({ profile, err: String(err) }, 'job observer failed');
        }
      }
    },
  };
}

/**
 * The GitHub client calls these from its request hook, where a throw would turn an answered request into a failed
 * one. No logger reaches this far out, so a failure is a process warning, once per observer.
 */
export function apiObservers(...observers: Array<ApiObserver | undefined>): ApiObserver {
  const all = observers.filter((o): o is ApiObserver => o !== undefined);
  const warned = new Set<ApiObserver>();
  const each = (call: (o: ApiObserver) => void) => {
    for (const o of all) {
      try {
        call(o);
      } catch (err) {
        if (!warned.has(o)) process.emitWarning(`GitHub API observer failed: ${String(err)}`, 'FactoryObserverWarning');
        warned.add(o);
      }
    }
  };
  return {
    onCall: (route, status) => each((o) => o.onCall?.(route, status)),
    onRateLimitRemaining: (n) => each((o) => o.onRateLimitRemaining?.(n)),
    onResult: (repo, state, error) => each((o) => o.onResult?.(repo, state, error)),
  };
}
