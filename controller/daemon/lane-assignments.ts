// The controller's side of a lane runner's assignment: which runners are checked, the release or the refusal the
// check ends in, and the poll that finds assignments whose `in_progress` delivery was lost. The check itself (the
// verdicts, one check per runner, the lookup retries) is assignment-check.ts; what it releases is lanes/release.ts.
import type { Config } from '../config/config.js';
import type { GitHubApi } from '../github/github-client.js';
import { readRelease, releaseJob, releasesOnAssignment } from '../lanes/release.js';
import { UNRELEASED_LIMIT_MS, UnreleasedRunners } from '../lanes/unreleased-runners.js';
import type { JobObserver, PendingJob } from '../model/job.js';
import type { Logger } from '../observe/logger.js';
import { AssignmentGate, findAssignments, type Assignment, type GateRunner, type Verdict } from './assignment-check.js';
import { findProfile } from './profile-match.js';
import type { RunnerBook, RunnerRecord } from './runner-book.js';

export interface LaneAssignmentsDeps {
  github: GitHubApi;
  log: Logger;
  observer?: JobObserver | undefined;
  config: () => Config;
  now: () => number;
  /** The controller's live runners; read here, never added to or removed from. */
  book: RunnerBook;
}

/** What the assignments need from the controller. */
export interface AssignmentVerbs {
  isStopping(): boolean;
  /** Keeps a check in flight until the controller stops. */
  track(check: Promise<void>): void;
  /** GitHub says the runner took the job: what an `in_progress` delivery does, for one the poll found. */
  jobStarted(repo: string, jobId: number, runnerName: string, assignment: Assignment): void;
  /** The runner's job was refused: it is stopped with its container, now or once its launch answers. */
  stopRefused(record: RunnerRecord, reason: string): void;
  /** What status shows as the controller's last error. */
  noteError(message: string): void;
}

export class LaneAssignments {
  private readonly gate: AssignmentGate;
  private poll: NodeJS.Timeout | undefined;
  private readonly unreleased = new UnreleasedRunners();

  constructor(
    private readonly deps: LaneAssignmentsDeps,
    private readonly verbs: AssignmentVerbs,
  ) {
    this.gate = new AssignmentGate(
      { github: deps.github, log: deps.log, config: deps.config },
      {
        release: (runner, job) => this.release(runner, job),
        refuse: (runner, job, verdict) => this.refuse(runner, job, verdict),
        live: (name) => {
          const record = this.deps.book.get(name);
          return !this.verbs.isStopping() && record !== undefined && !record.cleaning && !record.refused;
        },
        releasedBefore: async (name) => (await readRelease(this.deps.config(), name))?.jobId,
      },
    );
  }

  /** A lane runner's job is checked before its credentials are released; other runners hold nothing to release. */
  check(record: RunnerRecord, assignment: Assignment): void {
    const runner = this.gateRunner(record);
    if (!runner || !releasesOnAssignment(runner.profile)) return;
    this.unreleased.busy(runner.runnerName, this.deps.now());
    this.verbs.track(this.gate.assigned(runner, assignment));
  }

  /** Resolves once no release is being written for the runner, so its cleanup may remove the folder written into. */
  releaseWritten(runnerName: string): Promise<void> {
    return this.gate.releaseWritten(runnerName);
  }

  /** The runner is gone: its name may come back with a new runner. */
  forget(runnerName: string): void {
    this.gate.forget(runnerName);
    this.unreleased.settled(runnerName);
  }

  private gateRunner(record: RunnerRecord): GateRunner | undefined {
    const { repo, profileName, runnerName, org } = record.identity;
    const profile =
      (record.slot as Partial<PendingJob>).profile ?? findProfile(this.deps.config(), repo, profileName)?.profile;
    return profile && { runnerName, repo, profileName, profile, ...(org ? { org } : {}) };
  }

  private async release(runner: GateRunner, job: Assignment & { runId: number }): Promise<void> {
    await releaseJob(this.deps.config(), runner.profileName, runner.profile, runner.runnerName, {
      repo: job.repo,
      jobId: job.jobId,
      runId: job.runId,
    });
    this.unreleased.settled(runner.runnerName);
    this.deps.log.info(
      { repo: job.repo, jobId: job.jobId, runId: job.runId, runner: runner.runnerName, profile: runner.profileName },
      'assignment verified: lane credentials released to the job',
    );
    this.deps.observer?.stage(job.jobId, 'released', {
      repo: job.repo,
      profile: runner.profileName,
      runnerName: runner.runnerName,
      at: this.deps.now(),
    });
  }

  /**
   * A lane runner took a job not entitled to the lane: its container goes at once (nothing was released to it), its
   * runner with it. The lane job it stood for was already handed back by the controller's claim settling and is
   * offered again.
   */
  private refuse(runner: GateRunner, job: Assignment, verdict: Extract<Verdict, { entitled: false }>): void {
    const record = this.deps.book.get(runner.runnerName);
    const reason = `refused job ${job.jobId} of ${job.repo}: ${verdict.why}`;
    this.verbs.noteError(`runner ${runner.runnerName} (profile ${runner.profileName}) ${reason}`);
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
      repo: job.repo,
      profile: runner.profileName,
      runnerName: runner.runnerName,
      detail: verdict.why,
      reason: verdict.reason,
      at: this.deps.now(),
    });
    if (record) this.verbs.stopRefused(record, reason);
  }

  /** Deliveries get lost: lane runners with no assignment known here are looked up (assignment-check.ts). */
  async pollOnce(): Promise<void> {
    const open = this.deps.book
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
    const busy = (name: string) => this.unreleased.busy(name, this.deps.now());
    for (const found of await findAssignments(this.deps.github, this.deps.config(), open, this.deps.log, busy))
      if (!this.gate.settled(found.runnerName)) this.verbs.jobStarted(found.repo, found.jobId, found.runnerName, found);
    this.stopOverdue();
  }

  /** Lane runners busy for too long with no release are stopped (lanes/unreleased-runners.ts). */
  private stopOverdue(): void {
    for (const name of this.unreleased.overdue(this.deps.now())) {
      this.unreleased.settled(name);
      const record = this.deps.book.get(name);
      if (!record || record.cleaning || record.refused) continue;
      const reason = `no release within ${UNRELEASED_LIMIT_MS / 1000} s of its runner taking a job`;
      this.deps.log.warn(
        { runner: name, profile: record.identity.profileName },
        `lane runner ${name}: ${reason}: runner stopped`,
      );
      this.verbs.noteError(`runner ${name} (profile ${record.identity.profileName}) ${reason}`);
      this.verbs.stopRefused(record, reason);
    }
  }

  /** Polls every `ms` until stopPoll. */
  startPoll(ms: number): void {
    clearInterval(this.poll);
    let running: Promise<void> | undefined;
    this.poll = setInterval(() => {
      running ??= this.pollOnce().finally(() => (running = undefined));
    }, ms);
    this.poll.unref();
  }

  stopPoll(): void {
    clearInterval(this.poll);
  }
}
