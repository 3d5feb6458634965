// A launch in the controller's books: the runner recorded before any await (so its claim is never between the queue
// and a runner), the plan built whole (launch-plan.ts) and carried out (launcher.ts), then the outcome booked: a
// started container, a failure that gives the job back or fails it, or Docker gone mid-start (left to the reconciler).
import { randomBytes } from 'node:crypto';
import { readEnvFiles } from '../lanes/env-file.js';
import type { PendingJob } from '../model/job.js';
import type { Logger } from '../observe/logger.js';
import { planLaunch, runnerIdentity } from './launch-plan.js';
import { carryOut } from './launcher.js';
import type { RunnerRecord } from './runner-book.js';
import type { RunnerCleanup, RunnerEdges } from './runner-cleanup.js';

export interface RunnerLaunchDeps extends RunnerEdges {
  /** A launch that fails is forgotten; one whose runner was refused or whose container exited meanwhile is cleaned. */
  cleanups: Pick<RunnerCleanup, 'forget' | 'cleanup' | 'removeSpare' | 'exitedBeforeStart'>;
}

/** What a launch needs from the controller. */
export interface LaunchVerbs {
  /** What status shows as the controller's last error. */
  noteError(message: string): void;
  /** A failed launch freed its slot: start what waits for one. */
  pump(): void;
  /** A warm launch failed: its pool waits before it starts another. */
  pauseWarm(repo: string, profileName: string): void;
}

export class RunnerLaunch {
  constructor(
    private readonly deps: RunnerLaunchDeps,
    private readonly verbs: LaunchVerbs,
  ) {}

  async launch(item: PendingJob, warm = false): Promise<void> {
    const config = this.deps.config();
    const { observer } = this.deps;
    const random = randomBytes(3).toString('hex');
    // Recorded before any await, so the claim is never between the queue and a runner, and the reconciler never
    // mistakes this runner for an orphan mid-launch.
    const identity = runnerIdentity(config, item, random);
    const record: RunnerRecord = {
      identity,
      slot: item,
      startedAt: this.deps.now(),
      busy: false,
      cleaning: false,
      launching: true,
      ...(warm ? { warm } : { claim: item.jobId }),
    };
    this.deps.book.add(record);
    const log = this.deps.log.child({ repo: item.repo, jobId: item.jobId, runner: identity.runnerName });

    let plan;
    try {
      plan = planLaunch(config, item, Object.keys(await readEnvFiles(item.profile.envFiles)), random);
    } catch (err) {
      return this.endLaunch(record, log, { kind: 'failed', failure: (err as Error).message, retry: false });
    }
    plan.identity = identity;
    const outcome = await carryOut(
      {
        ...this.deps,
        config,
        registered: (runnerId) => {
          if (warm) return log.info({ runnerId }, 'warm runner registered (JIT)');
          observer?.stage(item.jobId, 'runner-created', {
            repo: item.repo,
            profile: item.profileName,
            runnerName: identity.runnerName,
            at: this.deps.now(),
          });
          log.info({ runnerId }, 'runner registered (JIT)');
        },
      },
      plan,
      item,
    );
    this.endLaunch(record, log, outcome);
  }

  private endLaunch(record: RunnerRecord, log: Logger, outcome: Awaited<ReturnType<typeof carryOut>>): void {
    const { identity } = record;
    const item = record.slot as PendingJob;
    record.launching = false;
    if (outcome.kind === 'failed' && record.warm) {
      // The job a warm runner came to stand for did not fail: it is offered again. The pool waits before retrying.
      this.deps.cleanups.forget(record);
      this.deps.book.giveBack(record.claim);
      this.verbs.pauseWarm(identity.repo, identity.profileName);
      this.verbs.noteError(`${identity.repo} warm runner for ${identity.profileName}: ${outcome.failure}`);
      log.error(outcome.failure);
      return;
    }
    if (outcome.kind === 'failed') {
      this.deps.cleanups.forget(record);
      // GitHub failed: the job is not failed for good, the next queued-jobs poll offers it again.
      if (outcome.retry) this.deps.book.giveBack(record.claim);
      this.verbs.noteError(`${item.repo} job ${item.jobId}: ${outcome.failure}`);
      log.error(outcome.failure);
      this.deps.observer?.stage(item.jobId, 'failed', {
        repo: item.repo,
        profile: item.profileName,
        detail: outcome.failure,
        at: this.deps.now(),
      });
      this.verbs.pump();
      return;
    }
    if (outcome.kind === 'docker-down') {
      // The container may well be running the job. Leave runner, folder and job to the reconciler, which adopts the
      // container if it exists and deletes the orphan runner if it does not (the job, given back here, is then
      // offered again by the queued-jobs poll).
      this.deps.cleanups.forget(record, false);
      this.deps.book.giveBack(record.claim);
      log.warn('Docker unreachable while starting the container; the reconciler settles it when Docker answers');
      this.deps.docker.report(outcome.err);
      return;
    }
    this.deps.book.placed(record, outcome.containerId);
    record.startedAt = this.deps.now();
    const fields = { repo: identity.repo, profile: identity.profileName, runnerName: identity.runnerName };
    if (!record.warm) this.deps.observer?.stage(item.jobId, 'container-started', { ...fields, at: record.startedAt });
    log.info(
      { containerId: outcome.containerId.slice(0, 12), pickupMs: record.startedAt - item.receivedAt },
      record.warm ? 'warm runner container started' : 'container started',
    );
    if (record.startedEarly)
      this.deps.observer?.stage(record.startedEarly.jobId, 'in_progress', {
        ...fields,
        repo: record.startedEarly.repo,
        detail: record.warm ? 'warm' : 'cold',
        at: record.startedEarly.at,
      });
    if (record.refused) void this.deps.cleanups.cleanup(record, record.refused);
    else if (this.deps.cleanups.exitedBeforeStart(outcome.containerId))
      void this.deps.cleanups.cleanup(record, 'container exited');
    else if (record.claim === undefined && !record.busy && !record.warm)
      void this.deps.cleanups.removeSpare(record, 'its job was taken by another runner or cancelled');
  }
}
