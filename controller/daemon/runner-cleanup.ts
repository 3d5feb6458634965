// A runner's end in the controller's books: a spare runner removed, a container's exit turned into the cleanup, the
// cleanup itself (runner-teardown.ts's effects, then the credential write-back, the slot freed and an unrun claim
// given back). The controller calls down into it; it calls back only to pump the queue once a slot is free.
import type { Config } from '../config/config.js';
import type { Engine } from '../docker/docker-engine.js';
import type { DockerState } from '../docker/docker-watch.js';
import type { EgressGateways } from '../egress/egress-gateway.js';
import type { JobDocker } from '../docker/job-docker.js';
import type { GitHubApi } from '../github/github-client.js';
import { scopeOf } from '../github/runner-scope.js';
import { returnCredentials } from '../lanes/credential-return.js';
import { releasedValues } from '../lanes/release.js';
import type { JobObserver, PendingJob } from '../model/job.js';
import type { Logger } from '../observe/logger.js';
import { BoundedSet } from '../util/bounded-set.js';
import type { RunnerBook, RunnerRecord } from './runner-book.js';
import { deleteRunner, tearDown } from './runner-teardown.js';
import type { Scheduler } from './scheduler.js';

/** What a runner's launch and its cleanup both work with: the edges, and the controller's book of live runners. */
export interface RunnerEdges {
  config: () => Config;
  github: GitHubApi;
  engine: Engine;
  jobDocker?: JobDocker | undefined;
  egress?: EgressGateways | undefined;
  docker: DockerState;
  log: Logger;
  observer?: JobObserver | undefined;
  now: () => number;
  book: RunnerBook;
}

export interface RunnerCleanupDeps extends RunnerEdges {
  scheduler: Scheduler<PendingJob>;
  /** The lane assignment check: a cleanup waits for a release being written, then drops the runner's check. */
  assignments: { releaseWritten(runnerName: string): Promise<void>; forget(runnerName: string): void };
}

/** What a cleanup needs from the controller. */
export interface CleanupVerbs {
  /** What status shows as the controller's last error. */
  noteError(message: string): void;
  /** A slot is free: start what waits for one. */
  pump(): void;
}

export class RunnerCleanup {
  /** Containers whose exit came before `docker run` answered, so the launch cleans them up once it does. */
  private readonly exitedEarly = new BoundedSet<string>(1_000);

  constructor(
    private readonly deps: RunnerCleanupDeps,
    private readonly verbs: CleanupVerbs,
  ) {}

  containerExited(containerId: string, reason = 'container exited'): void {
    const record = this.deps.book.byContainer(containerId);
    if (!record) {
      this.exitedEarly.add(containerId);
      return;
    }
    void this.cleanup(record, reason);
  }

  /** Whether the container exited before its launch knew its id. */
  exitedBeforeStart(containerId: string): boolean {
    return this.exitedEarly.has(containerId);
  }

  /** Drops a runner's slot and record; `containerGone` false when Docker may still run its container. */
  forget(record: RunnerRecord, containerGone = true): void {
    this.deps.book.remove(record, containerGone);
    this.deps.scheduler.release(record.slot);
  }

  /** Removes a runner that claims no job; GitHub refuses (422) to delete one that took a job meanwhile. */
  async removeSpare(record: RunnerRecord, why: string): Promise<void> {
    if (record.cleaning || record.launching || record.busy || record.claim !== undefined) return;
    const log = this.deps.log.child({
      repo: record.identity.repo,
      jobId: record.identity.jobId,
      runner: record.identity.runnerName,
    });
    const outcome = await deleteRunner(this.deps.github, scopeOf(record.identity), record.identity.runnerId, log);
    if (outcome === 'busy') {
      record.busy = true;
      return;
    }
    if (outcome === 'error' || record.claim !== undefined) return;
    log.info({ why }, 'removing a spare runner');
    await this.cleanup(record, `spare runner: ${why}`, { runnerDeleted: true });
  }

  /** Keeps the container's last log lines, removes it, deletes its runner from GitHub, frees its slot. Idempotent. */
  async cleanup(record: RunnerRecord, reason: string, opts: { runnerDeleted?: boolean } = {}): Promise<void> {
    if (record.cleaning || record.launching) return;
    record.cleaning = true;
    const { repo, jobId, runnerName: name, profileName } = record.identity;
    const log = this.deps.log.child({ repo, jobId, runner: name });
    // A release begun before the cleanup lands whole first (its values scrub the log tail, its manifest drives the
    // write-back); none begins after it, since the runner is no longer live.
    await this.deps.assignments.releaseWritten(name);
    const done = await tearDown(this.deps, record, {
      reason,
      deleteRunner: !opts.runnerDeleted && !record.jobCompleted,
      log,
      // Released env-file values never were in the container's environment, so the engine cannot know them.
      secrets: await releasedValues(this.deps.config(), name),
    });
    if (done.kind !== 'done') {
      record.cleaning = false; // the reconciler retries once Docker answers
      if (!this.deps.docker.report(done.err)) log.error({ err: String(done.err) }, 'container cleanup failed');
      return;
    }
    // Only a released job has copies to write back: a refused one got none, so its folder holds no manifest.
    const refused = await returnCredentials(this.deps.config(), name, record.identity.profileName, {
      log,
      ...(this.deps.observer ? { observer: this.deps.observer } : {}),
    });
    if (refused) this.verbs.noteError(refused);
    this.deps.assignments.forget(name);
    this.forget(record);
    // A runner that ends without having run a job puts its job back.
    if (!record.busy && record.claim !== undefined) {
      log.info(
        { job: record.claim },
        'runner ended without a job: its job is offered again if GitHub still lists it queued',
      );
      this.deps.book.giveBack(record.claim);
    }
    // A warm runner was made for no job: its end belongs to the job it ran, if it ran one.
    const ranJob = record.warm ? record.runningJob : jobId;
    if (ranJob !== undefined)
      this.deps.observer?.stage(ranJob, 'cleaned', {
        repo,
        profile: profileName,
        runnerName: name,
        detail: reason,
        lastLines: done.lastLines,
        at: this.deps.now(),
      });
    log.info({ reason }, 'runner cleaned up');
    this.verbs.pump();
  }
}
