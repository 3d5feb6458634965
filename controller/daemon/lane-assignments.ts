// The controller's side of a lane runner's assignment: which runners are checked, the release or the refusal the
// check ends in (returned for the controller to feed to its book), and the poll that finds assignments whose
// `in_progress` delivery was lost (returned likewise). The check itself (the verdicts, one check per runner, the
// lookup retries) is assignment-check.ts; what it releases is lanes/release.ts. The release is where a lane job takes
// its login (lanes/credential-hold.ts): a runner that waits for a job, warm or cold, holds none of it, and a verified
// job whose login another job or a `factory lane run` holds waits here, its gate told to keep waiting.
import type { Config } from '../config/config.js';
import type { Engine } from '../docker/docker-engine.js';
import type { GitHubApi } from '../github/github-client.js';
import { takeCredential } from '../lanes/credential-hold.js';
import {
  clearCredentialWait,
  noteCredentialWait,
  readRelease,
  releaseJob,
  releasesOnAssignment,
} from '../lanes/release.js';
import { UNRELEASED_LIMIT_MS, UnreleasedRunners } from '../lanes/unreleased-runners.js';
import type { JobObserver, PendingJob } from '../model/job.js';
import type { Logger } from '../observe/logger.js';
import { AssignmentGate, findAssignments, type Assignment, type GateRunner, type Verdict } from './assignment-check.js';
import { findProfile } from './profile-match.js';
import type { RunnerBook } from './runner-book.js';
import { containerOf, refusedOf, type Runner } from './runner-phase.js';

export interface LaneAssignmentsDeps {
  github: GitHubApi;
  log: Logger;
  observer?: JobObserver | undefined;
  config: () => Config;
  now: () => number;
  /** The controller's live runners; read here, never changed. */
  book: RunnerBook;
  /** Removes the container of a `factory lane run` that died holding a login, by name. */
  engine?: Pick<Engine, 'remove'>;
  sleep?: (ms: number) => Promise<void>;
}

/** How often a verified job that waits for its login tries again: the gate in its container looks once a second. */
export const CREDENTIAL_RETRY_MS = 1_000;

/** A lane runner's job refused: the runner is to be stopped with its container; `error` is for status. */
export interface Refusal {
  runnerName: string;
  reason: string;
  error: string;
}

/** An assignment the poll found: GitHub says `runnerName` took the job. */
export type FoundAssignment = Assignment & { runnerName: string };

export class LaneAssignments {
  private readonly gate: AssignmentGate;
  private poll: NodeJS.Timeout | undefined;
  /** Refusals the gate decided, until the check that decided each returns it. */
  private readonly refusals = new Map<string, Refusal>();
  private readonly unreleased = new UnreleasedRunners();

  constructor(private readonly deps: LaneAssignmentsDeps) {
    this.gate = new AssignmentGate(
      { github: deps.github, log: deps.log, config: deps.config },
      {
        release: (runner, job) => this.release(runner, job),
        refuse: (runner, job, verdict) => this.refuse(runner, job, verdict),
        live: (name) => this.deps.book.isLive(name),
        releasedBefore: async (name) => (await readRelease(this.deps.config(), name))?.jobId,
      },
    );
  }

  /**
   * A lane runner's job is checked before its credentials are released; other runners hold nothing to release
   * (undefined). Resolves once the job is released (undefined) or refused (the refusal), or the check gave up.
   */
  check(record: Runner, assignment: Assignment): Promise<Refusal | undefined> | undefined {
    const runner = this.gateRunner(record);
    if (!runner || !releasesOnAssignment(runner.profile)) return undefined;
    this.unreleased.busy(runner.runnerName, this.deps.now());
    return this.gate.assigned(runner, assignment).then(() => {
      const refusal = this.refusals.get(runner.runnerName);
      this.refusals.delete(runner.runnerName);
      return refusal;
    });
  }

  /** Whether the runner's assignment is known (being checked, released or refused). */
  settled(runnerName: string): boolean {
    return this.gate.settled(runnerName);
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

  private gateRunner(record: Runner): GateRunner | undefined {
    const { repo, profileName, runnerName, org } = record.identity;
    const profile =
      (record.slot as Partial<PendingJob>).profile ?? findProfile(this.deps.config(), repo, profileName)?.profile;
    return profile && { runnerName, repo, profileName, profile, ...(org ? { org } : {}) };
  }

  private async release(runner: GateRunner, job: Assignment & { runId: number }): Promise<void> {
    if (!(await this.takeLogin(runner, job))) return;
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
   * Takes the runner's login for its verified job, waiting for as long as another job or a `factory lane run` holds
   * it (the unreleased bound paused meanwhile: the job is verified, and its runner's jobTimeout still bounds it).
   * False when the runner went away first; its cleanup, which waits for this, lets go of a login taken at the end.
   */
  private async takeLogin(runner: GateRunner, job: Assignment): Promise<boolean> {
    const sleep = this.deps.sleep ?? ((ms) => new Promise<void>((r) => setTimeout(r, ms).unref()));
    const { runnerName, profileName, profile } = runner;
    const remove = this.deps.engine ? (name: string) => this.deps.engine!.remove(name) : undefined;
    for (let waiting = false; ; await sleep(CREDENTIAL_RETRY_MS)) {
      if (!this.deps.book.isLive(runnerName)) return false;
      const config = this.deps.config();
      const hold = await takeCredential(config, { profileName, profile, name: runnerName, kind: 'job' }, remove);
      if (hold.held) {
        if (waiting) {
          await clearCredentialWait(config, runnerName);
          this.unreleased.busy(runnerName, this.deps.now());
        }
        return true;
      }
      if (waiting) continue;
      waiting = true;
      this.unreleased.settled(runnerName);
      await noteCredentialWait(config, profile, runnerName);
      this.deps.log.info(
        { repo: job.repo, jobId: job.jobId, runner: runnerName, profile: profileName },
        `verified job waits for its login: ${hold.heldBy}`,
      );
      this.deps.observer?.stage(job.jobId, 'credential-wait', {
        repo: job.repo,
        profile: profileName,
        runnerName,
        detail: hold.heldBy,
        at: this.deps.now(),
      });
    }
  }

  /**
   * A lane runner took a job not entitled to the lane: its container goes at once (nothing was released to it), its
   * runner with it. The lane job it stood for was already handed back by the controller's claim settling and is
   * offered again.
   */
  private refuse(runner: GateRunner, job: Assignment, verdict: Extract<Verdict, { entitled: false }>): void {
    const reason = `refused job ${job.jobId} of ${job.repo}: ${verdict.why}`;
    const error = `runner ${runner.runnerName} (profile ${runner.profileName}) ${reason}`;
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
    if (this.deps.book.get(runner.runnerName))
      this.refusals.set(runner.runnerName, { runnerName: runner.runnerName, reason, error });
  }

  /**
   * Deliveries get lost: lane runners with no assignment known here are looked up (assignment-check.ts). Returns the
   * assignments found; the controller treats each still unsettled one as an `in_progress` delivery.
   */
  async pollOnce(): Promise<FoundAssignment[]> {
    const open = this.deps.book
      .all()
      .filter(
        (r) =>
          containerOf(r) !== undefined &&
          r.phase.name !== 'finishing' &&
          refusedOf(r) === undefined &&
          !this.gate.settled(r.identity.runnerName) &&
          (this.gateRunner(r)?.profile.trusted ?? false),
      )
      .map((r) => r.identity);
    const busy = (name: string) => this.unreleased.busy(name, this.deps.now());
    return findAssignments(this.deps.github, this.deps.config(), open, this.deps.log, busy);
  }

  /**
   * Lane runners busy for too long with no release (lanes/unreleased-runners.ts), as refusals for the controller to
   * feed to its book: each is stopped with its container.
   */
  overdue(): Refusal[] {
    const refusals: Refusal[] = [];
    for (const name of this.unreleased.overdue(this.deps.now())) {
      this.unreleased.settled(name);
      const record = this.deps.book.get(name);
      if (!record || record.phase.name === 'finishing' || refusedOf(record) !== undefined) continue;
      const reason = `no release within ${UNRELEASED_LIMIT_MS / 1000} s of its runner taking a job`;
      this.deps.log.warn(
        { runner: name, profile: record.identity.profileName },
        `lane runner ${name}: ${reason}: runner stopped`,
      );
      refusals.push({
        runnerName: name,
        reason,
        error: `runner ${name} (profile ${record.identity.profileName}) ${reason}`,
      });
    }
    return refusals;
  }

  /** Runs `pass` every `ms` until stopPoll, one at a time. */
  startPoll(ms: number, pass: () => Promise<void>): void {
    clearInterval(this.poll);
    let running: Promise<void> | undefined;
    this.poll = setInterval(() => {
      running ??= pass().finally(() => (running = undefined));
    }, ms);
    this.poll.unref();
  }

  stopPoll(): void {
    clearInterval(this.poll);
  }
}
