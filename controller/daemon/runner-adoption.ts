// A running container found after a restart or an outage (by the reconciler, from its Docker labels), counted as ours
// again without touching it: its slot held, its job accounted for, and the event that brings its runner back into the
// book returned.
import type { Config } from '../config/config.js';
import type { PendingJob } from '../model/job.js';
import { isWarm, type RunnerIdentity } from '../model/runner.js';
import type { Logger } from '../observe/logger.js';
import { findProfile } from './profile-match.js';
import type { RunnerBook } from './runner-book.js';
import type { RunnerEvent } from './runner-lifecycle.js';
import type { Scheduler } from './scheduler.js';
import { slotLimits } from './slot-limits.js';

export interface AdoptionDeps {
  config: Config;
  log: Logger;
  book: RunnerBook;
  scheduler: Scheduler<PendingJob>;
}

/** The `adopted` event for the container, or undefined when its runner is in the book already. */
export function adoptContainer(
  deps: AdoptionDeps,
  identity: RunnerIdentity,
  containerId: string,
  createdAt: number,
): RunnerEvent | undefined {
  const { config, book, scheduler } = deps;
  if (book.get(identity.runnerName)) return undefined;
  const warm = isWarm(identity);
  const slot = {
    key: warm ? `warm:${identity.runnerName}` : String(identity.jobId),
    limits: slotLimits(config, identity.repo, findProfile(config, identity.repo, identity.profileName)?.profile, {
      warm,
    }),
  };
  scheduler.hold(slot);
  const adopted = { kind: 'adopted' as const, identity, slot, containerId, createdAt };
  if (warm) {
    // A warm runner stands for no job; if it took one while the controller was away, GitHub says so (busy, 422).
    deps.log.info({ repo: identity.repo, runner: identity.runnerName }, 'adopted warm runner container');
    return adopted;
  }
  book.markSeen(identity.jobId);
  // Its job has a runner after all (a launch Docker cut short): drop the queued copy, keep the claim here.
  const queued = scheduler.cancel(String(identity.jobId));
  const claim = book.isFinished(identity.jobId) ? undefined : identity.jobId;
  deps.log.info(
    { repo: identity.repo, jobId: identity.jobId, runner: identity.runnerName, queued },
    'adopted runner container',
  );
  return { ...adopted, ...(claim !== undefined ? { claim } : {}) };
}
