// The orchestration: queued jobs in, one JIT runner and one container per taken job, both gone when the job ends.
// What the world says (a delivery, Docker's news, the reconciler's findings) is turned into an event for the book,
// whose one transition function (runner-lifecycle.ts: step) changes runners' phases and claims and says what to do;
// `carryOut` does it. The parts it calls down into (runner-launch.ts, runner-cleanup.ts, lane-assignments.ts,
// warm-pool-keeper.ts, runner-adoption.ts) return what happened, and that is fed to the book as the next event.
// A job's trip: handleJob (queued) -> job-taken -> enqueue, pump -> launch-begun, the launch -> launch-answered;
// handleJob (in_progress) -> job-started (claims settled, a lane's assignment checked); handleJob (completed) ->
// job-completed; the container's exit -> cleanup-asked -> the cleanup -> cleanup-ended.
//
// Docker labels are the durable record; the book is a cache a restart rebuilds from them (see reconciler.ts).
import type { Config } from '../config/config.js';
import type { DockerState, DockerSubscriber } from '../docker/docker-watch.js';
import type { Engine } from '../docker/docker-engine.js';
import type { EgressGateways } from '../egress/egress-gateway.js';
import type { JobBrokers } from '../broker/job-brokers.js';
import type { JobDocker } from '../docker/job-docker.js';
import type { GitHubApi } from '../github/github-client.js';
import type { RunnerScope } from '../github/runner-scope.js';
import type { JobObserver, PendingJob } from '../model/job.js';
import type { RunnerIdentity, RunnerView } from '../model/runner.js';
import type { WorkflowJobDelivery } from '../model/workflow-job.js';
import type { Logger } from '../observe/logger.js';
import { randomBytes } from 'node:crypto';
import type { Assignment } from './assignment-check.js';
import { LaneAssignments, type Refusal } from './lane-assignments.js';
import { runnerIdentity } from './launch-plan.js';
import { findProfile, matchProfile } from './profile-match.js';
import { restoreBroker } from './broker-restore.js';
import { adoptContainer } from './runner-adoption.js';
import { RunnerBook } from './runner-book.js';
import { RunnerCleanup } from './runner-cleanup.js';
import { RunnerLaunch } from './runner-launch.js';
import type { Effect, RunnerEvent, TakenJob } from './runner-lifecycle.js';
import { containerOf } from './runner-phase.js';
import { deleteRunner } from './runner-teardown.js';
import { Scheduler } from './scheduler.js';
import { slotLimits } from './slot-limits.js';
import type { PoolView } from '../model/pool-view.js';
import { WarmPoolKeeper } from './warm-pool-keeper.js';

export type { JobObserver, JobStage, PendingJob } from '../model/job.js';

/** What the runner prints once it is connected and waits for a job (the real runner and the stand-in alike). */
const RUNNER_ONLINE = 'Listening for Jobs';

export interface ControllerDeps {
  config: Config;
  github: GitHubApi;
  engine: Engine;
  /** A job's own Docker engine, for profiles with `docker` (launcher and teardown use it). */
  jobDocker?: JobDocker;
  /** A job's egress gateway, for profiles with `egress` (the launcher starts it; teardown goes through jobDocker). */
  egress?: EgressGateways;
  /** Brokered jobs' model brokers (the launcher starts one; teardown closes it through jobDocker). */
  brokers?: JobBrokers;
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
  /** When it happened (the controller's clock). */
  lastErrorAt: number | undefined;
}

export class Controller {
  private readonly scheduler = new Scheduler<PendingJob>();
  /** Live runners from admission until cleanup, the jobs accounted for, and who claims which. */
  private readonly book: RunnerBook;
  private readonly inflight = new Set<Promise<void>>();
  private stopping = false;
  private lastError: { message: string; at: number } | undefined;
  /** Checks which job a lane runner took before its credentials are released, and polls for lost deliveries. */
  private readonly assignments: LaneAssignments;
  private readonly pools: WarmPoolKeeper;
  private readonly launches: RunnerLaunch;
  /** A runner's end: spare deletion and cleanup. */
  private readonly cleanups: RunnerCleanup;

  /** What the controller does with Docker's news; the service subscribes it to the watch, after the reconciler. */
  readonly dockerSubscriber: DockerSubscriber = {
    up: () => this.pump(),
    down: (reason) => this.noteError(`docker unavailable: ${reason}`),
    exit: (id, reason) => this.containerExited(id, reason),
  };

  constructor(private readonly deps: ControllerDeps) {
    this.book = new RunnerBook(deps.finishedJobs);
    const config = () => this.deps.config;
    const now = () => this.now;
    const edges = { ...deps, config, now };
    this.assignments = new LaneAssignments({ ...edges, book: this.book });
    this.cleanups = new RunnerCleanup({ ...edges, assignments: this.assignments });
    this.launches = new RunnerLaunch(edges);
    this.pools = new WarmPoolKeeper({ config, now, book: this.book, scheduler: this.scheduler });
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
      lastError: this.lastError?.message,
      lastErrorAt: this.lastError?.at,
    };
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  /** What status shows as the controller's last error, stamped so the newest of it and GitHub's shows. */
  private noteError(message: string): void {
    this.lastError = { message, at: this.now };
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
        this.jobStarted(d.repo, d.job.id, d.job.runnerName, {
          repo: d.repo,
          jobId: d.job.id,
          labels: d.job.labels,
          ...(d.job.runId ? { runId: d.job.runId } : {}),
        });
        break;
      case 'completed':
        this.book.markFinished(d.job.id);
        void this.feed({ kind: 'job-completed', ...this.jobFacts(d.repo, d.job.id, d.job.runnerName) });
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
    const job = { jobId, repo: match.repo.repo, profileName: match.profileName, profile: match.profile, receivedAt };
    void this.feed({ kind: 'job-taken', job, at: this.now });
    return true;
  }

  /** `assignment`: what GitHub says of the job, for a lane runner's check; absent when there is nothing to check. */
  private jobStarted(repo: string, jobId: number, runner: string | null, assignment: Assignment): void {
    this.book.markSeen(jobId); // a late `queued` for it must start nothing
    void this.feed({ kind: 'job-started', ...this.jobFacts(repo, jobId, runner), assignment });
  }

  /** What a delivery's event carries besides the delivery: the clock, and whether the job waits in the queue. */
  private jobFacts(repo: string, jobId: number, runner: string | null) {
    const queued = this.scheduler.queuedWhere((w) => w.jobId === jobId).length > 0;
    return { repo, jobId, runner, at: this.now, queued };
  }

  private containerExited(containerId: string, reason = 'container exited'): void {
    const runner = this.book.byContainer(containerId);
    if (!runner) return this.book.exitedBeforeStart(containerId);
    void this.feed({ kind: 'cleanup-asked', name: runner.identity.runnerName, reason });
  }

  /** Starts every waiting job that fits under the caps, then tops the warm pools up and retires what they shed. */
  pump(): void {
    if (this.stopping || !this.deps.docker.isUp) return;
    for (const item of this.scheduler.admit()) this.launch(item);
    for (const action of this.pools.fill()) {
      if (action.kind === 'launch') this.launch(action.item);
      // Not waited for by stop(): the runner's delete and cleanup, like every cleanup, end on their own.
      else
        void this.feed({ kind: 'retire-begun', name: action.name, why: action.why }).then(() =>
          this.feed({ kind: 'retire-ended', name: action.name }),
        );
    }
  }

  /** Records the runner before any await (so its claim is never between the queue and a runner), then launches it. */
  private launch(item: PendingJob): void {
    const random = randomBytes(3).toString('hex');
    const identity = runnerIdentity(this.deps.config, item, random);
    void this.feed({ kind: 'launch-begun', identity, slot: item, at: this.now });
    const name = identity.runnerName;
    this.track(
      this.launches.launch(item, identity, random).then((outcome) => {
        const exitedEarly = outcome.kind === 'container' && this.book.hasExitedEarly(outcome.containerId);
        // stop() waits for the launch, not for the cleanup its answer may begin.
        void this.feed({
          kind: 'launch-answered',
          name,
          outcome: outcome.kind === 'container' ? { ...outcome, exitedEarly } : outcome,
        });
        if (outcome.kind === 'docker-down') this.deps.docker.report(outcome.err);
      }),
    );
  }

  /**
   * Runs an event through the book and carries out its effects in order. Resolves once the work the effects began
   * (a cleanup, a spare's delete) and the events it fed back have landed.
   */
  private feed(event: RunnerEvent): Promise<void> {
    const work: Promise<void>[] = [];
    for (const effect of this.book.apply(event)) {
      const started = this.carryOut(effect);
      if (started) work.push(started);
    }
    return work.length === 0 ? Promise.resolve() : Promise.all(work).then(() => undefined);
  }

  private carryOut(e: Effect): Promise<void> | undefined {
    switch (e.kind) {
      case 'enqueue':
        return void this.enqueue(e.job);
      case 'note-credential-wait':
        return void this.noteCredentialWait(e.jobId);
      case 'requeue':
        return void this.requeue(e.jobId, e.repo, e.profileName);
      case 'cancel-queued':
        return void this.scheduler.cancel(String(e.jobId));
      case 'give-back':
        return void this.book.giveBack(e.jobId);
      case 'release-slot':
        return void this.scheduler.release(e.slot);
      case 'pump':
        return void this.pump();
      case 'tear-down': {
        const runner = this.book.get(e.name)!;
        const target = { identity: runner.identity, containerId: containerOf(runner)! };
        return this.cleanups.cleanup(target, e.reason, e.deleteRunner).then((outcome) => {
          if (outcome.kind === 'done' && outcome.refused) this.noteError(outcome.refused);
          return this.feed({ kind: 'cleanup-ended', name: e.name, outcome, at: this.now });
        });
      }
      case 'delete-spare':
        return this.cleanups
          .deleteSpare(this.book.get(e.name)!.identity)
          .then((outcome) => this.feed({ kind: 'spare-deleted', name: e.name, why: e.why, outcome }));
      case 'check-assignment': {
        const check = this.assignments.check(this.book.get(e.name)!, e.assignment);
        if (check)
          this.track(
            check.then((refusal) => {
              if (refusal) void this.refuse(refusal);
            }),
          );
        return undefined;
      }
      case 'watch-online': {
        // Bounded by bootTimeout: a runner that never says so is the reconciler's to clean up.
        const watch = this.deps.engine.waitForOutput?.(e.containerId, RUNNER_ONLINE, this.deps.config.bootTimeout);
        void watch?.then(
          (at) => (at !== undefined ? this.feed({ kind: 'runner-online', name: e.name, at }) : undefined),
          () => {},
        );
        return undefined;
      }
      case 'forget-assignment':
        return void this.assignments.forget(e.name);
      case 'stage':
        return void this.deps.observer?.stage(e.jobId, e.stage, e.fields);
      case 'note-error':
        return void this.noteError(e.message);
      case 'pause-warm':
        return void this.pools.pause(e.repo, e.profileName);
      case 'log':
        return void this.deps.log[e.level](e.fields, e.msg);
    }
  }

  private enqueue(job: TakenJob): void {
    const profile = job.profile;
    this.scheduler.enqueue({ key: String(job.jobId), limits: slotLimits(this.deps.config, job.repo, profile), ...job });
  }

  /** Says so when a job waits only because another job holds its credential: a wait that looks like a hang otherwise. */
  private noteCredentialWait(jobId: number): void {
    const [item] = this.scheduler.queuedWhere((w) => w.jobId === jobId);
    const pool = item?.limits.find((l) => l.pool.startsWith('credential:') && this.scheduler.inUse(l.pool) >= l.max);
    if (!item || !pool) return;
    const credential = pool.pool.slice('credential:'.length);
    this.deps.log.info({ repo: item.repo, jobId, credential }, 'job waits for its credential, in use by another job');
    this.deps.observer?.stage(jobId, 'credential-wait', {
      repo: item.repo,
      profile: item.profileName,
      detail: credential,
      at: this.now,
    });
  }

  /** Queues a job again for the profile of the runner that stood for it. */
  private requeue(jobId: number, repo: string, profileName: string): void {
    const match = findProfile(this.deps.config, repo, profileName);
    if (!match || this.book.isFinished(jobId)) return this.book.giveBack(jobId);
    this.enqueue({
      jobId,
      repo: match.repo.repo,
      profileName: match.profileName,
      profile: match.profile,
      receivedAt: this.now,
    });
    this.pump();
  }

  /** Keeps a launch or a check in flight until it ends, so stop() can wait for it. */
  private track(work: Promise<void>): void {
    const p = work.finally(() => this.inflight.delete(p));
    this.inflight.add(p);
  }

  /** Deliveries get lost: lane runners with no assignment known here are looked up (lane-assignments.ts). */
  async pollAssignments(): Promise<void> {
    // Scale-set jobs are named by runner request ids, which the REST jobs list does not show; their JobStarted
    // messages are not lost (the listener resumes from its cursor), so only the overdue check runs for them.
    const lookups = this.deps.config.intake === 'scaleset' ? [] : await this.assignments.pollOnce();
    for (const found of lookups)
      if (!this.assignments.settled(found.runnerName))
        this.jobStarted(found.repo, found.jobId, found.runnerName, found);
    for (const refusal of this.assignments.overdue()) await this.refuse(refusal);
  }

  /** A lane runner refused (its job not entitled, or no release in time): noted for status, stopped by the book. */
  private refuse(refusal: Refusal): Promise<void> {
    this.noteError(refusal.error);
    return this.feed({ kind: 'refused', name: refusal.runnerName, reason: refusal.reason });
  }

  /** Polls every `ms` while the controller runs; the service starts it. */
  startAssignmentPoll(ms: number): void {
    this.assignments.startPoll(ms, () => this.pollAssignments());
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
    const adopted = adoptContainer(
      { config, log, book: this.book, scheduler: this.scheduler },
      identity,
      containerId,
      createdAt,
    );
    if (adopted) void this.feed(adopted);
  }

  /**
   * Starts an adopted runner's model broker again from its job folder (broker-restore.ts). The reconciler asks once it
   * has swept, so the sweep has served the job's gateway's other relays again first.
   */
  async restoreBroker(name: string): Promise<void> {
    const { brokers, egress, log } = this.deps;
    const runner = this.book.get(name);
    if (!brokers || !runner) return;
    await restoreBroker({ config: this.deps.config, brokers, egress, log }, runner.identity);
    // Cleaned up meanwhile: its teardown may have closed the broker before this start had it.
    const now = this.book.get(name);
    if (!now || now.phase.name === 'finishing') await brokers.close(name);
  }

  /** GitHub lists the runner as busy. */
  markBusy(name: string): void {
    void this.feed({ kind: 'listed-busy', name });
  }

  /** Cleans up a live runner whose container exited, vanished or overran (never one still launching). */
  cleanUp(name: string, reason: string): Promise<void> {
    return this.feed({ kind: 'cleanup-asked', name, reason });
  }

  /** Deletes a runner of ours that GitHub lists (at its repo or org) and that has no record here. */
  async deleteOrphanRunner(scope: RunnerScope, runnerId: number): Promise<'deleted' | 'gone' | 'busy' | 'error'> {
    const where = scope.kind === 'org' ? { org: scope.org } : { repo: scope.repo };
    return deleteRunner(this.deps.github, scope, runnerId, this.deps.log.child(where));
  }

  /** Stops taking work and waits for launches in flight, so no JIT runner is left without its container. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.book.close();
    this.assignments.stopPoll();
    await Promise.allSettled([...this.inflight]);
  }
}
