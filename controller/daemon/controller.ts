// The orchestration: queued jobs in, one JIT runner and one container per taken job, both gone when the job ends.
// A job's trip reads top-down: handleJob -> offerQueuedJob -> pump -> launch (plan, then launcher.ts's effects).
//
// GitHub gives a queued job to ANY idle runner whose labels cover it (oldest job first), not to the runner made for
// it. So the bookkeeping is by claim, not by job id: every job of ours still queued at GitHub is claimed by exactly
// one live runner that has not run a job yet, or by an item in our queue. When runner R, which claims X, starts job
// Y, R's claim moves to whoever claimed Y. A runner that ends without running a job gives its claim back: the job is
// forgotten, so the queued-jobs poll offers it again if GitHub still lists it queued.
//
// Docker labels are the durable record; the maps here are a cache a restart rebuilds from them (see reconciler.ts).
import { randomBytes } from 'node:crypto';
import type { Config, Profile } from '../config/config.js';
import type { DockerState, DockerSubscriber } from '../docker/docker-watch.js';
import type { Engine } from '../docker/docker-engine.js';
import type { JobDocker } from '../docker/job-docker.js';
import type { GitHubApi } from '../github/github-client.js';
import { runnersAt, scopeOf, type RunnerScope } from '../github/runner-scope.js';
import type { JobObserver, PendingJob, Slot } from '../model/job.js';
import { isWarm, type RunnerIdentity, type RunnerView } from '../model/runner.js';
import type { WorkflowJobDelivery } from '../model/workflow-job.js';
import type { Logger } from '../observe/logger.js';
import { credentialKey } from '../lanes/lane-layout.js';
import { returnCredentials } from '../lanes/credential-return.js';
import { readRelease, releaseJob, releasedValues, releasesOnAssignment } from '../lanes/release.js';
import { AssignmentGate, findAssignments, type Assignment, type GateRunner, type Verdict } from './assignment-check.js';
import { BoundedSet } from '../util/bounded-set.js';
import { RunnerBook, type RunnerRecord } from './runner-book.js';
import { carryOut } from './launcher.js';
import { planLaunch, runnerIdentity } from './launch-plan.js';
import { readEnvFiles } from '../lanes/env-file.js';
import { findProfile, findRepo, matchProfile, type Match } from './profile-match.js';
import { tearDown } from './runner-teardown.js';
import { Scheduler } from './scheduler.js';
import {
  decidePools,
  poolRunner,
  poolStates,
  poolViews,
  warmLaunch,
  type PoolState,
  type PoolView,
} from './warm-pool.js';

// A warm launch that failed (image missing, GitHub refusing) is not retried on every pump: the pool waits this long.
const WARM_RETRY_MS = 30_000;

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
  private readonly exitedEarly = new BoundedSet<string>(1_000);
  private readonly inflight = new Set<Promise<void>>();
  /** Warm pools (repo and profile) whose last warm launch failed, until when they start nothing. */
  private readonly warmPausedUntil = new Map<string, number>();
  private stopping = false;
  private lastError: string | undefined;
  /** Checks which job a lane runner took before its credentials are released (assignment-check.ts). */
  private readonly gate: AssignmentGate;
  private assignmentPoll: NodeJS.Timeout | undefined;

  /** What the controller does with Docker's news; the service subscribes it to the watch, after the reconciler. */
  readonly dockerSubscriber: DockerSubscriber = {
    up: () => this.pump(),
    down: (reason) => void (this.lastError = `docker unavailable: ${reason}`),
    exit: (id, reason) => this.onContainerExit(id, reason),
  };

  constructor(private readonly deps: ControllerDeps) {
    this.book = new RunnerBook(deps.finishedJobs);
    this.gate = new AssignmentGate(
      { github: deps.github, log: deps.log, config: () => this.deps.config },
      {
        release: (runner, job) => this.release(runner, job),
        refuse: (runner, job, verdict) => this.refuse(runner, job, verdict),
        live: (name) => {
          const record = this.book.get(name);
          return !this.stopping && record !== undefined && !record.cleaning && !record.refused;
        },
        releasedBefore: async (name) => (await readRelease(this.deps.config, name))?.jobId,
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
      pools: poolViews(this.poolStates()),
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

  slotFor(repo: string, profile: Profile | undefined): Slot['limits'] {
    const repoCap = findRepo(this.deps.config, repo)?.maxConcurrent ?? 1;
    const limits = [
      { pool: 'global', max: this.deps.config.maxConcurrent },
      { pool: `repo:${repo.toLowerCase()}`, max: repoCap },
    ];
    const credential = profile && credentialKey(profile);
    if (credential) limits.push({ pool: `credential:${credential}`, max: profile.credentialConcurrency });
    return limits;
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
    const warm = this.book.idleWarm(match.repo.repo, match.profileName);
    if (warm) {
      warm.claim = jobId;
      warm.claimedAt = this.now;
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
      limits: this.slotFor(repo, match.profile),
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
    for (const item of this.scheduler.admit()) {
      const p = this.launch(item).finally(() => this.inflight.delete(p));
      this.inflight.add(p);
    }
    this.fillPools();
  }

  /** The warm pools as they stand: configured ones, and any whose warm runners the config no longer asks for. */
  private poolStates(): PoolState[] {
    const paused = (repo: string, profile: string) =>
      (this.warmPausedUntil.get(`${repo.toLowerCase()}\0${profile}`) ?? 0) > this.now;
    return poolStates(
      this.deps.config,
      this.book
        .all()
        .filter((r) => !r.cleaning)
        .map(poolRunner),
      this.scheduler.queuedWhere(() => true),
      (repo, profile) => this.slotFor(repo, profile),
      paused,
      this.now,
    );
  }

  /** Tops each warm pool up to its size and stops the idle runners it no longer wants (see warm-pool.ts). */
  private fillPools(): void {
    if (this.stopping || !this.deps.docker.isUp) return;
    for (const d of decidePools(this.poolStates(), (pool) => this.scheduler.inUse(pool), this.now)) {
      for (const { name, why } of d.stop) {
        const record = this.book.get(name);
        if (record) void this.retire(record, why === 'idle-timeout' ? 'idle past idleTimeout' : 'its pool shrank');
      }
      const match = findProfile(this.deps.config, d.repo, d.profileName);
      for (let i = 0; match && i < d.start; i++) {
        const item = warmLaunch(match, this.slotFor(match.repo.repo, match.profile), this.now);
        this.scheduler.hold(item);
        const p = this.launch(item, true).finally(() => this.inflight.delete(p));
        this.inflight.add(p);
      }
    }
  }

  /** Removes an idle warm runner; GitHub refuses (422) if it took a job meanwhile, and then it runs that job. */
  private async retire(record: RunnerRecord, why: string): Promise<void> {
    record.retiring = true;
    await this.removeSpare(record, why);
    if (!record.cleaning) record.retiring = false;
  }

  private async launch(item: PendingJob, warm = false): Promise<void> {
    const { config, observer } = this.deps;
    const random = randomBytes(3).toString('hex');
    // Recorded before any await, so the claim is never between the queue and a runner, and the reconciler never
    // mistakes this runner for an orphan mid-launch.
    const identity = runnerIdentity(config, item, random);
    const record: RunnerRecord = {
      identity,
      slot: item,
      startedAt: this.now,
      busy: false,
      cleaning: false,
      launching: true,
      ...(warm ? { warm } : { claim: item.jobId }),
    };
    this.book.add(record);
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
        registered: (runnerId) => {
          if (warm) return log.info({ runnerId }, 'warm runner registered (JIT)');
          observer?.stage(item.jobId, 'runner-created', {
            repo: item.repo,
            profile: item.profileName,
            runnerName: identity.runnerName,
            at: this.now,
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
      this.forget(record);
      this.book.giveBack(record.claim);
      this.warmPausedUntil.set(`${identity.repo.toLowerCase()}\0${identity.profileName}`, this.now + WARM_RETRY_MS);
      this.lastError = `${identity.repo} warm runner for ${identity.profileName}: ${outcome.failure}`;
      log.error(outcome.failure);
      return;
    }
    if (outcome.kind === 'failed') {
      this.forget(record);
      // GitHub failed: the job is not failed for good, the next queued-jobs poll offers it again.
      if (outcome.retry) this.book.giveBack(record.claim);
      this.lastError = `${item.repo} job ${item.jobId}: ${outcome.failure}`;
      log.error(outcome.failure);
      this.deps.observer?.stage(item.jobId, 'failed', {
        repo: item.repo,
        profile: item.profileName,
        detail: outcome.failure,
        at: this.now,
      });
      this.pump();
      return;
    }
    if (outcome.kind === 'docker-down') {
      // The container may well be running the job. Leave runner, folder and job to the reconciler, which adopts the
      // container if it exists and deletes the orphan runner if it does not (the job, given back here, is then
      // offered again by the queued-jobs poll).
      this.forget(record);
      this.book.giveBack(record.claim);
      log.warn('Docker unreachable while starting the container; the reconciler settles it when Docker answers');
      this.deps.docker.report(outcome.err);
      return;
    }
    record.containerId = outcome.containerId;
    record.startedAt = this.now;
    const fields = { repo: identity.repo, profile: identity.profileName, runnerName: identity.runnerName };
    if (!record.warm) this.deps.observer?.stage(item.jobId, 'container-started', { ...fields, at: record.startedAt });
    log.info(
      { containerId: outcome.containerId.slice(0, 12), pickupMs: record.startedAt - item.receivedAt },
      record.warm ? 'warm runner container started' : 'container started',
    );
    if (record.startedEarly)
      this.deps.observer?.stage(record.startedEarly.jobId, 'in_progress', {
        ...fields,
        detail: record.warm ? 'warm' : 'cold',
        at: record.startedEarly.at,
      });
    if (record.refused) void this.cleanup(record, record.refused);
    else if (this.exitedEarly.has(outcome.containerId)) void this.cleanup(record, 'container exited');
    else if (record.claim === undefined && !record.busy && !record.warm)
      void this.removeSpare(record, 'its job was taken by another runner or cancelled');
  }

  /** Drops a runner that never got a container: its slot and record. */
  private forget(record: RunnerRecord): void {
    this.book.remove(record);
    this.scheduler.release(record.slot);
  }

  /** `assignment`: what GitHub says of the job, for a lane runner's check; absent when there is nothing to check. */
  private onJobStarted(repo: string, jobId: number, runner: string | null, assignment?: Assignment): void {
    this.book.markSeen(jobId); // a late `queued` for it must start nothing
    const record = this.book.get(runner);
    if (record && record.runningJob !== jobId) {
      record.busy = true;
      record.runningJob = jobId;
      if (record.warm) record.claimedAt ??= this.now;
      this.deps.log.info({ repo: record.identity.repo, jobId, runner }, 'runner picked up job');
      // A fast runner can take its job before `docker start` returns; keep the timeline in causal order.
      if (!record.containerId) record.startedEarly = { jobId, at: this.now };
      else
        this.deps.observer?.stage(jobId, 'in_progress', {
          repo: record.identity.repo,
          profile: record.identity.profileName,
          runnerName: runner!,
          // A warm hit: the job went to a runner that was already listening.
          detail: record.warm ? 'warm' : 'cold',
          at: this.now,
        });
    }
    this.settleClaim(jobId, record);
    if (record && assignment) this.checkAssignment(record, assignment);
  }

  /** A lane runner's job is checked before its credentials are released; other runners hold nothing to release. */
  private checkAssignment(record: RunnerRecord, assignment: Assignment): void {
    const runner = this.gateRunner(record);
    if (!runner || !releasesOnAssignment(runner.profile)) return;
    const p = this.gate.assigned(runner, assignment).finally(() => this.inflight.delete(p));
    this.inflight.add(p);
  }

  private gateRunner(record: RunnerRecord): GateRunner | undefined {
    const { repo, profileName, runnerName } = record.identity;
    const profile =
      (record.slot as Partial<PendingJob>).profile ?? findProfile(this.deps.config, repo, profileName)?.profile;
    return profile && { runnerName, repo, profileName, profile };
  }

  private async release(runner: GateRunner, job: Assignment & { runId: number }): Promise<void> {
    const { config } = this.deps;
    await releaseJob(config, runner.profileName, runner.profile, runner.runnerName, {
      repo: job.repo,
      jobId: job.jobId,
      runId: job.runId,
    });
    this.deps.log.info(
      { repo: job.repo, jobId: job.jobId, runId: job.runId, runner: runner.runnerName, profile: runner.profileName },
      'assignment verified: lane credentials released to the job',
    );
    this.deps.observer?.stage(job.jobId, 'released', {
      repo: runner.repo,
      profile: runner.profileName,
      runnerName: runner.runnerName,
      at: this.now,
    });
  }

  /**
   * A lane runner took a job not entitled to the lane: its container goes at once (nothing was released to it), its
   * runner with it. The lane job it stood for was already handed back by settleClaim and is offered again.
   */
  private refuse(runner: GateRunner, job: Assignment, verdict: Extract<Verdict, { entitled: false }>): void {
    const record = this.book.get(runner.runnerName);
    const reason = `refused job ${job.jobId} of ${job.repo}: ${verdict.why}`;
    this.lastError = `runner ${runner.runnerName} (profile ${runner.profileName}) ${reason}`;
    this.deps.log.warn(
      {
        repo: job.repo,
        jobId: job.jobId,
        runner: runner.runnerName,
        profile: runner.profileName,
        reason: verdict.reason,
        why: verdict.why,
      },
      `lane runner ${runner.runnerName} took job ${job.jobId} of ${job.repo}, which is not entitled to profile ${runner.profileName} (${verdict.why}): nothing released, runner stopped and deleted`,
    );
    this.deps.observer?.stage(job.jobId, 'refused', {
      repo: runner.repo,
      profile: runner.profileName,
      runnerName: runner.runnerName,
      detail: verdict.why,
      reason: verdict.reason,
      at: this.now,
    });
    if (!record) return;
    record.refused = reason;
    // Still launching: endLaunch cleans it up as soon as `docker run` answers.
    if (!record.launching) void this.cleanup(record, reason);
  }

  /** Deliveries get lost: lane runners with no assignment known here are looked up (assignment-check.ts). */
  async pollAssignments(): Promise<void> {
    const open = this.book
      .records()
      .filter(
        (r) =>
          r.containerId !== undefined &&
          !r.cleaning &&
          !r.refused &&
          !this.gate.settled(r.identity.runnerName) &&
          (this.gateRunner(r)?.profile.trusted ?? false),
      )
      .map((r) => r.identity);
    for (const found of await findAssignments(this.deps.github, open, this.deps.log))
      if (!this.gate.settled(found.runnerName)) this.onJobStarted(found.repo, found.jobId, found.runnerName, found);
  }

  /** Polls every `ms` while the controller runs; the service starts it. */
  startAssignmentPoll(ms: number): void {
    clearInterval(this.assignmentPoll);
    let running: Promise<void> | undefined;
    this.assignmentPoll = setInterval(() => {
      running ??= this.pollAssignments().finally(() => (running = undefined));
    }, ms);
    this.assignmentPoll.unref();
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
      const fits =
        handed !== undefined && runner !== undefined && holder.identity.profileName === runner.identity.profileName;
      holder.claim = fits ? handed : undefined;
      if (!fits) {
        if (handed !== undefined) this.requeue(handed, runner!);
        // A warm runner freed of its job goes back to its pool, idle; a cold one has nothing left to do.
        if (holder.warm) delete holder.claimedAt;
        else if (holder.containerId && !holder.launching && !holder.busy)
          void this.removeSpare(holder, 'its job was taken by another runner or cancelled');
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

  /** Removes a runner that claims no job; GitHub refuses (422) to delete one that took a job meanwhile. */
  private async removeSpare(record: RunnerRecord, why: string): Promise<void> {
    if (record.cleaning || record.launching || record.busy || record.claim !== undefined) return;
    const log = this.deps.log.child({
      repo: record.identity.repo,
      jobId: record.identity.jobId,
      runner: record.identity.runnerName,
    });
    const outcome = await this.deleteRunner(scopeOf(record.identity), record.identity.runnerId, log);
    if (outcome === 'busy') {
      record.busy = true;
      return;
    }
    if (outcome === 'error' || record.claim !== undefined) return;
    log.info({ why }, 'removing a spare runner');
    await this.cleanup(record, `spare runner: ${why}`, { runnerDeleted: true });
  }

  private onContainerExit(containerId: string, reason = 'container exited'): void {
    const record = this.book.byContainer(containerId);
    if (!record) {
      this.exitedEarly.add(containerId);
      return;
    }
    void this.cleanup(record, reason);
  }

  /** Keeps the container's last log lines, removes it, deletes its runner from GitHub, frees its slot. Idempotent. */
  private async cleanup(record: RunnerRecord, reason: string, opts: { runnerDeleted?: boolean } = {}): Promise<void> {
    if (record.cleaning || record.launching) return;
    record.cleaning = true;
    const { repo, jobId, runnerName: name, profileName } = record.identity;
    const log = this.deps.log.child({ repo, jobId, runner: name });
    // A release begun before the cleanup lands whole first (its values scrub the log tail, its manifest drives the
    // write-back); none begins after it, since the runner is no longer live.
    await this.gate.releaseWritten(name);
    const done = await tearDown(this.deps, record, {
      reason,
      deleteRunner: !opts.runnerDeleted && !record.jobCompleted,
      log,
      // Released env-file values never were in the container's environment, so the engine cannot know them.
      secrets: await releasedValues(this.deps.config, name),
    });
    if (done.kind !== 'done') {
      record.cleaning = false; // the reconciler retries once Docker answers
      if (!this.deps.docker.report(done.err)) log.error({ err: String(done.err) }, 'container cleanup failed');
      return;
    }
    // Only a released job has copies to write back: a refused one got none, so its folder holds no manifest.
    const refused = await returnCredentials(this.deps.config, name, record.identity.profileName, {
      log,
      ...(this.deps.observer ? { observer: this.deps.observer } : {}),
    });
    if (refused) this.lastError = refused;
    this.gate.forget(name);
    this.forget(record);
    // A runner that ends without having run a job puts its job back.
    if (!record.busy && record.claim !== undefined) {
      log.info(
        { job: record.claim },
        'runner ended without a job: its job is offered again if GitHub still lists it queued',
      );
      this.book.giveBack(record.claim);
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
        at: this.now,
      });
    log.info({ reason }, 'runner cleaned up');
    this.pump();
  }

  private async deleteRunner(
    scope: RunnerScope,
    runnerId: number,
    log: Logger,
  ): Promise<'deleted' | 'gone' | 'busy' | 'error'> {
    try {
      return await runnersAt(this.deps.github, scope).remove(runnerId);
    } catch (err) {
      // Left for the reconciler: it deletes factory runners that are offline and have no container.
      log.warn(
        { runnerId, err: String((err as Error).message ?? err) },
        'runner delete failed; the reconciler will retry',
      );
      return 'error';
    }
  }

  // The reconciler's verbs: what it may learn from Docker and GitHub, and what it may ask for.

  /** Whether a runner of this name is live here (registering, booting, idle or busy). */
  hasRunner(name: string): boolean {
    return this.book.get(name) !== undefined;
  }

  /** The live runner whose container this is, if any. */
  runnerOfContainer(containerId: string): string | undefined {
    return this.book.byContainer(containerId)?.identity.runnerName;
  }

  /** Counts an already running container (found after a restart or an outage) as ours, without touching it. */
  adopt(identity: RunnerIdentity, containerId: string, createdAt: number): void {
    if (this.book.get(identity.runnerName)) return;
    const warm = isWarm(identity);
    const slot = {
      key: warm ? `warm:${identity.runnerName}` : String(identity.jobId),
      limits: this.slotFor(identity.repo, findProfile(this.deps.config, identity.repo, identity.profileName)?.profile),
    };
    this.scheduler.hold(slot);
    if (warm) {
      // A warm runner stands for no job; if it took one while the controller was away, GitHub says so (busy, 422).
      this.book.add({
        identity,
        slot,
        containerId,
        startedAt: createdAt,
        busy: false,
        cleaning: false,
        launching: false,
        warm,
      });
      this.deps.log.info({ repo: identity.repo, runner: identity.runnerName }, 'adopted warm runner container');
      return;
    }
    this.book.markSeen(identity.jobId);
    // Its job has a runner after all (a launch Docker cut short): drop the queued copy, keep the claim here.
    const queued = this.scheduler.cancel(String(identity.jobId));
    const claim = this.book.isFinished(identity.jobId) ? undefined : identity.jobId;
    this.book.add({
      identity,
      slot,
      containerId,
      startedAt: createdAt,
      busy: false,
      cleaning: false,
      launching: false,
      ...(claim !== undefined ? { claim } : {}),
    });
    this.deps.log.info(
      { repo: identity.repo, jobId: identity.jobId, runner: identity.runnerName, queued },
      'adopted runner container',
    );
  }

  /** GitHub lists the runner as busy. */
  markBusy(name: string): void {
    const record = this.book.get(name);
    if (record) record.busy = true;
  }

  /** Cleans up a live runner whose container exited, vanished or overran (never one still launching). */
  cleanUp(name: string, reason: string): Promise<void> {
    const record = this.book.get(name);
    return record ? this.cleanup(record, reason) : Promise.resolve();
  }

  /** Deletes a runner of ours that GitHub lists (at its repo or org) and that has no record here. */
  async deleteOrphanRunner(scope: RunnerScope, runnerId: number): Promise<'deleted' | 'gone' | 'busy' | 'error'> {
    const where = scope.kind === 'org' ? { org: scope.org } : { repo: scope.repo };
    return this.deleteRunner(scope, runnerId, this.deps.log.child(where));
  }

  /** Stops taking work and waits for launches in flight, so no JIT runner is left without its container. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.assignmentPoll);
    await Promise.allSettled([...this.inflight]);
  }
}
