// The orchestration: queued jobs in, one JIT runner and one container per taken job, both gone when the job ends.
// A job's trip reads top-down: handleJob -> offerQueuedJob (taken, queued or stood for by a warm runner) -> pump ->
// the launch (runner-launch.ts) -> onJobStarted (claims settled, a lane's assignment checked: lane-assignments.ts) ->
// onJobCompleted -> the container's exit and the cleanup (runner-cleanup.ts). Each part is called down into and gets
// only the few verbs it needs back; the warm pools are warm-pool-keeper.ts.
//
// GitHub gives a queued job to ANY idle runner whose labels cover it (oldest job first), not to the runner made for
// it. So the bookkeeping is by claim, not by job id: every job of ours still queued at GitHub is claimed by exactly
// one live runner that has not run a job yet, or by an item in our queue. When runner R, which claims X, starts job
// Y, R's claim moves to whoever claimed Y. A runner that ends without running a job gives its claim back: the job is
// forgotten, so the queued-jobs poll offers it again if GitHub still lists it queued.
//
// Docker labels are the durable record; the maps here are a cache a restart rebuilds from them (see reconciler.ts).
import type { Config } from '../config/config.js';
import type { DockerState, DockerSubscriber } from '../docker/docker-watch.js';
import type { Engine } from '../docker/docker-engine.js';
import type { JobDocker } from '../docker/job-docker.js';
import type { GitHubApi } from '../github/github-client.js';
import type { RunnerScope } from '../github/runner-scope.js';
import type { JobObserver, PendingJob } from '../model/job.js';
import type { RunnerIdentity, RunnerView } from '../model/runner.js';
import type { WorkflowJobDelivery } from '../model/workflow-job.js';
import type { Logger } from '../observe/logger.js';
import type { Assignment } from './assignment-check.js';
import { LaneAssignments } from './lane-assignments.js';
import { findProfile, matchProfile, type Match } from './profile-match.js';
import { adoptContainer } from './runner-adoption.js';
import { RunnerBook, type RunnerRecord } from './runner-book.js';
import { RunnerCleanup } from './runner-cleanup.js';
import { RunnerLaunch } from './runner-launch.js';
import { deleteRunner } from './runner-teardown.js';
import { Scheduler } from './scheduler.js';
import { slotLimits } from './slot-limits.js';
import type { PoolView } from '../model/pool-view.js';
import { WarmPoolKeeper } from './warm-pool-keeper.js';

export type { JobObserver, JobStage, PendingJob } from '../model/job.js';

export interface ControllerDeps {
  config: Config;
  github: GitHubApi;
  engine: Engine;
  /** A job's own Docker engine, for profiles with `docker` (launcher and teardown use it). */
  jobDocker?: JobDocker;
  docker: DockerState;
  log: Logger;
  observer?: JobObserver;
  now?: () => number;
  /** Jobs known to have completed (from the persisted timeline), so a replayed `queued` for one starts nothing. */
  finishedJobs?: Iterable<number>;
}

/** What status, metrics and health read: copies, so nobody outside changes the controller's state. */
export interface ControllerSnapshot {
  runners: RunnerView[];
  queued: PendingJob[];
  pools: PoolView[];
  dockerUp: boolean;
  lastError: string | undefined;
}

export class Controller {
  private readonly scheduler = new Scheduler<PendingJob>();
  /** Live runners from admission until cleanup, the jobs accounted for, and who claims which. */
  private readonly book: RunnerBook;
  private readonly inflight = new Set<Promise<void>>();
  private stopping = false;
  private lastError: string | undefined;
  /** Checks which job a lane runner took before its credentials are released, and polls for lost deliveries. */
  private readonly assignments: LaneAssignments;
  private readonly pools: WarmPoolKeeper;
  private readonly launches: RunnerLaunch;
  /** A runner's end: spare removal, container exit, cleanup. */
  private readonly cleanups: RunnerCleanup;

  /** What the controller does with Docker's news; the service subscribes it to the watch, after the reconciler. */
  readonly dockerSubscriber: DockerSubscriber = {
    up: () => this.pump(),
    down: (reason) => void (this.lastError = `docker unavailable: ${reason}`),
    exit: (id, reason) => this.cleanups.containerExited(id, reason),
  };

  constructor(private readonly deps: ControllerDeps) {
    this.book = new RunnerBook(deps.finishedJobs);
    const config = () => this.deps.config;
    const now = () => this.now;
    const noteError = (message: string) => void (this.lastError = message);
    const pump = () => this.pump();
    this.assignments = new LaneAssignments(
      { github: deps.github, log: deps.log, observer: deps.observer, config, now, book: this.book },
      {
        isStopping: () => this.stopping,
        track: (check) => this.track(check),
        jobStarted: (repo, jobId, runner, assignment) => this.onJobStarted(repo, jobId, runner, assignment),
        stopRefused: (record, reason) => {
          record.refused = reason;
          // Still launching: the launch cleans it up as soon as `docker run` answers.
          if (!record.launching) void this.cleanups.cleanup(record, reason);
        },
        noteError,
      },
    );
    this.cleanups = new RunnerCleanup(
      { ...deps, config, now, book: this.book, scheduler: this.scheduler, assignments: this.assignments },
      { noteError, pump },
    );
    this.launches = new RunnerLaunch(
      { ...deps, config, now, book: this.book, cleanups: this.cleanups },
      {
        noteError,
        pump,
        pauseWarm: (repo, profileName) => this.pools.pause(repo, profileName),
      },
    );
    this.pools = new WarmPoolKeeper(
      { config, now, book: this.book, scheduler: this.scheduler },
      {
        launchWarm: (item) => this.track(this.launches.launch(item, true)),
        removeSpare: (record, why) => this.cleanups.removeSpare(record, why),
      },
    );
  }

  /** Takes repos, profiles, caps and timeouts from an edited config; jobs already waiting keep their profile. */
  applyConfig(config: Config): void {
    this.deps.config = config;
    this.pump();
  }

  snapshot(): ControllerSnapshot {
    return {
      runners: this.book.views(),
      queued: this.scheduler.queuedWhere(() => true).map((j) => ({ ...j })),
      pools: this.pools.views(),
      dockerUp: this.deps.docker.isUp,
      lastError: this.lastError,
    };
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  private get now() {
    return (this.deps.now ?? Date.now)();
  }

  /** A validated workflow_job delivery (see model/workflow-job.ts). */
  handleJob(d: WorkflowJobDelivery): void {
    switch (d.action) {
      case 'queued':
        this.offerQueuedJob(d.repo, d.job.id, d.job.labels, d.receivedAt, 'webhook');
        break;
      case 'in_progress':
        this.onJobStarted(d.repo, d.job.id, d.job.runnerName, {
          repo: d.repo,
          jobId: d.job.id,
          labels: d.job.labels,
          ...(d.job.runId ? { runId: d.job.runId } : {}),
        });
        break;
      case 'completed':
        this.onJobCompleted(d.repo, d.job.id, d.job.runnerName);
        break;
    }
  }

  /** A queued job from a webhook or the poll; duplicates, finished jobs and jobs no profile serves are ignored. */
  offerQueuedJob(
    repo: string,
    jobId: number,
    labels: string[],
    receivedAt: number,
    source: 'webhook' | 'poll',
  ): boolean {
    const log = this.deps.log.child({ repo, jobId });
    const match = matchProfile(this.deps.config, repo, labels);
    if (!match) {
      log.debug({ labels }, 'queued job not for this factory (repo not configured or no profile provides its labels)');
      return false;
    }
    if (this.stopping || !this.book.take(jobId)) return false;
    log.info({ profile: match.profileName, labels, source }, 'job taken');
    this.deps.observer?.stage(jobId, 'queued', { repo: match.repo.repo, at: receivedAt });
    this.deps.observer?.stage(jobId, 'taken', { repo: match.repo.repo, profile: match.profileName, at: this.now });
    // An idle warm runner covers the job and GitHub hands it the job at once: it stands for the job, no runner is made.
    const warm = this.pools.standFor(match.repo.repo, match.profileName, jobId);
    if (warm) {
      log.info({ runner: warm.identity.runnerName }, 'job stands on a warm runner');
      this.pump();
      return true;
    }
    this.enqueue(jobId, match, receivedAt);
    this.pump();
    this.noteCredentialWait(jobId);
    return true;
  }

  private enqueue(jobId: number, match: Match, receivedAt: number): void {
    const repo = match.repo.repo;
    this.scheduler.enqueue({
      key: String(jobId),
      limits: slotLimits(this.deps.config, repo, match.profile),
      jobId,
      repo,
      profileName: match.profileName,
      profile: match.profile,
      receivedAt,
    });
  }

  /** Says so when a job waits only because another job holds its credential: a wait that looks like a hang otherwise. */
  private noteCredentialWait(jobId: number): void {
    const [item] = this.scheduler.queuedWhere((w) => w.jobId === jobId);
    const pool = item?.limits.find((l) => l.pool.startsWith('credential:'));
    if (!item || !pool || this.scheduler.inUse(pool.pool) < pool.max) return;
    const credential = pool.pool.slice('credential:'.length);
    this.deps.log.info({ repo: item.repo, jobId, credential }, 'job waits for its credential, in use by another job');
    this.deps.observer?.stage(jobId, 'credential-wait', {
      repo: item.repo,
      profile: item.profileName,
      detail: credential,
      at: this.now,
    });
  }

  /** Starts every waiting job that fits under the caps. */
  pump(): void {
    if (this.stopping || !this.deps.docker.isUp) return;
    for (const item of this.scheduler.admit()) this.track(this.launches.launch(item));
    this.pools.fill();
  }

  /** Keeps a launch or a check in flight until it ends, so stop() can wait for it. */
  private track(work: Promise<void>): void {
    const p = work.finally(() => this.inflight.delete(p));
    this.inflight.add(p);
  }

  /** `assignment`: what GitHub says of the job, for a lane runner's check; absent when there is nothing to check. */
  private onJobStarted(repo: string, jobId: number, runner: string | null, assignment?: Assignment): void {
    this.book.markSeen(jobId); // a late `queued` for it must start nothing
    const record = this.book.get(runner);
    if (record && record.runningJob !== jobId) {
      record.busy = true;
      record.runningJob = jobId;
      if (record.warm) record.claimedAt ??= this.now;
      this.deps.log.info({ repo, jobId, runner, madeFor: record.identity.repo }, 'runner picked up job');
      // A fast runner can take its job before `docker start` returns; keep the timeline in causal order.
      if (!record.containerId) record.startedEarly = { jobId, repo, at: this.now };
      else
        this.deps.observer?.stage(jobId, 'in_progress', {
          repo,
          profile: record.identity.profileName,
          runnerName: runner!,
          // A warm hit: the job went to a runner that was already listening.
          detail: record.warm ? 'warm' : 'cold',
          at: this.now,
        });
    }
    this.settleClaim(jobId, record);
    if (record && assignment) this.assignments.check(record, assignment);
  }

  /** Deliveries get lost: lane runners with no assignment known here are looked up (lane-assignments.ts). */
  pollAssignments(): Promise<void> {
    return this.assignments.pollOnce();
  }

  /** Polls every `ms` while the controller runs; the service starts it. */
  startAssignmentPoll(ms: number): void {
    this.assignments.startPoll(ms);
  }

  /**
   * Job `jobId` has a runner now (`runner`, or one not ours when undefined). Whoever claimed it no longer needs to:
   * it takes over the claim `runner` held instead, or, with none to take, is a spare.
   */
  private settleClaim(jobId: number, runner: RunnerRecord | undefined): void {
    let handed: number | undefined;
    if (runner) {
      handed = runner.claim;
      runner.claim = undefined;
    }
    if (handed === jobId) return;
    const holder = this.book.holderOf(jobId);
    if (holder) {
      const fits = handed !== undefined && runner !== undefined && interchangeable(holder.identity, runner.identity);
      holder.claim = fits ? handed : undefined;
      if (!fits) {
        if (handed !== undefined) this.requeue(handed, runner!);
        // A warm runner freed of its job goes back to its pool, idle; a cold one has nothing left to do.
        if (holder.warm) delete holder.claimedAt;
        else if (holder.containerId && !holder.launching && !holder.busy)
          void this.cleanups.removeSpare(holder, 'its job was taken by another runner or cancelled');
      }
      return;
    }
    if (this.scheduler.cancel(String(jobId))) {
      if (handed !== undefined) this.requeue(handed, runner!);
      this.pump();
      return;
    }
    // Nobody claimed it (its `queued` delivery is late or lost): the job `runner` stood for needs a runner again.
    if (handed !== undefined) this.requeue(handed, runner!);
  }

  /** Queues a job again for the profile of the runner that stood for it. */
  private requeue(jobId: number, runner: RunnerRecord): void {
    const match = findProfile(this.deps.config, runner.identity.repo, runner.identity.profileName);
    if (!match || this.book.isFinished(jobId)) return this.book.giveBack(jobId);
    this.enqueue(jobId, match, this.now);
    this.pump();
  }

  private onJobCompleted(repo: string, jobId: number, runner: string | null): void {
    this.book.markFinished(jobId);
    const record = this.book.get(runner);
    if (record) {
      // The in_progress delivery may be late or lost: settle the claim from this one.
      if (record.runningJob !== jobId) this.onJobStarted(repo, jobId, runner);
      // GitHub deregisters a JIT runner once its job completes, so its cleanup need not delete it (the reconciler
      // still sweeps any that linger offline).
      record.jobCompleted = true;
      this.deps.observer?.stage(jobId, 'completed', {
        repo: record.identity.repo,
        profile: record.identity.profileName,
        runnerName: runner!,
        at: this.now,
      });
      return; // the ephemeral runner exits by itself; its container's exit triggers the cleanup
    }
    // Cancelled while queued (no runner), or run by a runner not ours: whoever claimed it is not needed for it.
    if (!runner && this.scheduler.queuedWhere((w) => w.jobId === jobId).length > 0)
      this.deps.log.info({ repo, jobId }, 'job cancelled while waiting for a slot: dropped');
    this.settleClaim(jobId, undefined);
  }

  // The reconciler's verbs: what it may learn from Docker and GitHub, and what it may ask for.

  /** Whether a runner of this name is live here (registering, booting, idle or busy). */
  hasRunner(name: string): boolean {
    return this.book.get(name) !== undefined;
  }

  /** Taken before Docker is listed, for `changedSince`. */
  bookMark(): number {
    return this.book.mark();
  }

  /**
   * Whether the runner got its container or was cleaned up after `mark`: then a listing asked for at `mark` is older
   * than what the controller knows of it, and must neither adopt it again nor report its container vanished.
   */
  changedSince(name: string, mark: number): boolean {
    return this.book.changedSince(name, mark);
  }

  /** The live runner whose container this is, if any. */
  runnerOfContainer(containerId: string): string | undefined {
    return this.book.byContainer(containerId)?.identity.runnerName;
  }

  /** Counts an already running container (found after a restart or an outage) as ours, without touching it. */
  adopt(identity: RunnerIdentity, containerId: string, createdAt: number): void {
    const { config, log } = this.deps;
    adoptContainer({ config, log, book: this.book, scheduler: this.scheduler }, identity, containerId, createdAt);
  }

  /** GitHub lists the runner as busy. */
  markBusy(name: string): void {
    const record = this.book.get(name);
    if (record) record.busy = true;
  }

  /** Cleans up a live runner whose container exited, vanished or overran (never one still launching). */
  cleanUp(name: string, reason: string): Promise<void> {
    const record = this.book.get(name);
    return record ? this.cleanups.cleanup(record, reason) : Promise.resolve();
  }

  /** Deletes a runner of ours that GitHub lists (at its repo or org) and that has no record here. */
  async deleteOrphanRunner(scope: RunnerScope, runnerId: number): Promise<'deleted' | 'gone' | 'busy' | 'error'> {
    const where = scope.kind === 'org' ? { org: scope.org } : { repo: scope.repo };
    return deleteRunner(this.deps.github, scope, runnerId, this.deps.log.child(where));
  }

  /** Stops taking work and waits for launches in flight, so no JIT runner is left without its container. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.assignments.stopPoll();
    await Promise.allSettled([...this.inflight]);
  }
}

/**
 * Whether GitHub would hand one runner's job to the other: same profile (labels and group) and same scope. An org
 * runner made for repo A may take repo B's job; only another org runner of that org can then take A's in its place.
 */
function interchangeable(a: RunnerIdentity, b: RunnerIdentity): boolean {
  const scope = (r: RunnerIdentity) => (r.org ? `org:${r.org}` : `repo:${r.repo}`).toLowerCase();
  return a.profileName === b.profileName && scope(a) === scope(b);
}
