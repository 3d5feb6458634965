// One observer made of several (metrics, the timeline, a test's own), each shielded from the others: the controller
// calls observers in the middle of its work, and a failing one must never break a job.
import type { JobObserver } from './controller.js';
import type { ApiObserver } from './github-client.js';
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
  };
}

export function apiObservers(...observers: Array<ApiObserver | undefined>): ApiObserver {
  const all = observers.filter((o): o is ApiObserver => o !== undefined);
  return {
    onCall: (route, status) => all.forEach((o) => o.onCall?.(route, status)),
    onRateLimitRemaining: (n) => all.forEach((o) => o.onRateLimitRemaining?.(n)),
  };
}
