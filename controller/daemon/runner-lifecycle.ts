// A runner's life (runner-phase.ts) changed by one pure transition function: `step(book, event)` is the only place
// a runner's phase or claim changes. Events are what the world says (a delivery, `docker run` answering, a
// container's exit, a runner listing, an assignment verdict, a cleanup's end); effects are what the controller then
// does (clean up, delete a spare, free a slot, give a job back, queue it again, pump the queue, report a stage). The
// controller carries out the effects and feeds their outcomes back as events (controller.ts).
//
// GitHub gives a queued job to ANY idle runner whose labels cover it (oldest job first), not to the runner made for
// it. So the bookkeeping is by claim, not by job id: every job of ours still queued at GitHub is claimed by exactly
// one live runner that has not run a job yet, or by an item in the controller's queue. When runner R, which claims
// X, starts job Y, R's claim moves to whoever claimed Y. A runner that ends without running a job gives its claim
// back: the job is forgotten, so the queued-jobs poll offers it again if GitHub still lists it queued.
import type { JobStage, PendingJob, Slot, StageFields } from '../model/job.js';
import { isWarm, type RunnerIdentity } from '../model/runner.js';
import type { Assignment } from './assignment-check.js';
import {
  claimOf,
  holderOf,
  idleWarm,
  interchangeable,
  isBusy,
  isIdleWarm,
  type Book,
  type Phase,
  type Runner,
  type Work,
} from './runner-phase.js';

const runningJobOf = (r: Runner) => (r.work.kind === 'running' ? r.work.jobId : undefined);

export type LaunchAnswer =
  | { kind: 'container'; containerId: string; at: number; exitedEarly: boolean }
  | { kind: 'failed'; failure: string; retry: boolean; at: number }
  /** `err`: what Docker said, for the Docker watch. */
  | { kind: 'docker-down'; err: unknown };

export type RunnerEvent =
  /** A queued job was taken: an idle warm runner of its repo and profile stands for it, or it waits in the queue. */
  | { kind: 'job-taken'; job: TakenJob; at: number }
  /** A slot was admitted (a job's, or a warm pool's: its identity's jobId is WARM_JOB_ID) and its runner launches. */
  | { kind: 'launch-begun'; identity: RunnerIdentity; slot: Slot; at: number }
  | { kind: 'launch-answered'; name: string; outcome: LaunchAnswer }
  /** A running container found by the reconciler, counted as ours again without touching it. */
  | { kind: 'adopted'; identity: RunnerIdentity; slot: Slot; containerId: string; createdAt: number; claim?: number }
  /** `queued`: whether the job waits in the controller's queue. `assignment`: what to check for a lane runner. */
  | {
      kind: 'job-started';
      runner: string | null;
      jobId: number;
      repo: string;
      at: number;
      queued: boolean;
      assignment?: Assignment;
    }
  | { kind: 'job-completed'; runner: string | null; jobId: number; repo: string; at: number; queued: boolean }
  /** GitHub lists the runner busy, or refused (422) to delete it because it took a job. */
  | { kind: 'listed-busy'; name: string }
  /** The runner's lane assignment was refused: it is stopped with its container, now or once its launch answers. */
  | { kind: 'refused'; name: string; reason: string }
  /** Clean the runner up: its container exited, vanished or overran (one still starting or finishing is left be). */
  | { kind: 'cleanup-asked'; name: string; reason: string; runnerDeleted?: boolean }
  /** The cleanup carried out: `done` once the container is gone and the write-back ran; `failed` when Docker failed. */
  | {
      kind: 'cleanup-ended';
      name: string;
      outcome: { kind: 'done'; lastLines?: string[] } | { kind: 'failed' };
      at: number;
    }
  /** GitHub's answer to a spare's delete. */
  | { kind: 'spare-deleted'; name: string; why: string; outcome: 'deleted' | 'gone' | 'busy' | 'error' }
  /** The runner said it listens for jobs (its output, read once its container started): it is online. */
  | { kind: 'runner-online'; name: string; at: number }
  /** A warm pool retires an idle warm runner; `retire-ended` once its delete answered. */
  | { kind: 'retire-begun'; name: string; why: string }
  | { kind: 'retire-ended'; name: string };

export type Effect =
  /** Queue the taken job for a runner of its own. */
  | { kind: 'enqueue'; job: TakenJob }
  /** Say so when the job waits only because another job holds its credential. */
  | { kind: 'note-credential-wait'; jobId: number }
  /** Queue a job again for `repo`'s `profileName`, unless it finished or the profile is gone (then give it back). */
  | { kind: 'requeue'; jobId: number; repo: string; profileName: string }
  /** Drop the job's item from the queue: a runner runs it. */
  | { kind: 'cancel-queued'; jobId: number }
  /** Forget the job, so the poll offers it again if GitHub still lists it queued. */
  | { kind: 'give-back'; jobId: number }
  | { kind: 'release-slot'; slot: Slot }
  /** Start what waits for a slot and top the warm pools up. */
  | { kind: 'pump' }
  /** Clean the runner up (runner-cleanup.ts): log tail, container, GitHub runner unless `deleteRunner` is false. */
  | { kind: 'tear-down'; name: string; reason: string; deleteRunner: boolean }
  /** Delete a spare runner at GitHub (422 if it took a job meanwhile). */
  | { kind: 'delete-spare'; name: string; why: string }
  /** Watch the started container's output for its runner coming online (`runner-online` when it does). */
  | { kind: 'watch-online'; name: string; containerId: string }
  /** Check a lane runner's assignment before its credentials are released (lane-assignments.ts). */
  | { kind: 'check-assignment'; name: string; assignment: Assignment }
  /** The runner is gone: its assignment check is dropped, its name may come back. */
  | { kind: 'forget-assignment'; name: string }
  | { kind: 'stage'; jobId: number; stage: JobStage; fields: StageFields }
  /** What status shows as the controller's last error. */
  | { kind: 'note-error'; message: string }
  /** A warm launch failed: its pool waits before it starts another. */
  | { kind: 'pause-warm'; repo: string; profileName: string }
  | { kind: 'log'; level: 'info' | 'warn' | 'error'; fields: Record<string, unknown>; msg: string };

/** A queued job taken, as it is queued: its slot's limits are the controller's to work out. */
export type TakenJob = Omit<PendingJob, 'key' | 'limits'>;

/** A transition the runner's phase does not allow: a bug in the caller, never a state the world can put us in. */
export class IllegalTransition extends Error {
  constructor(event: RunnerEvent, runner: Runner | undefined) {
    super(
      `illegal runner transition: ${event.kind} for ${runner ? `a runner in phase ${runner.phase.name}` : 'no runner'}`,
    );
  }
}

export interface StepResult {
  book: Book;
  effects: Effect[];
}

/** The only place a runner's phase or claim changes. Pure: the book given is never modified. */
export function step(book: Book, event: RunnerEvent): StepResult {
  const t = new Transition(book);
  t.apply(event);
  return { book: t.book, effects: t.effects };
}

/** One step's working copy: the book copied on first write, the effects in the order the controller applies them. */
class Transition {
  private runners: Map<string, Runner> | undefined;
  readonly effects: Effect[] = [];

  constructor(private readonly original: Book) {}

  get book(): Book {
    return this.runners ?? this.original;
  }

  private get(name: string | null | undefined): Runner | undefined {
    return name ? this.book.get(name) : undefined;
  }

  private put(r: Runner): Runner {
    (this.runners ??= new Map(this.original)).set(r.identity.runnerName, r);
    return r;
  }

  private drop(r: Runner): void {
    (this.runners ??= new Map(this.original)).delete(r.identity.runnerName);
  }

  private emit(e: Effect): void {
    this.effects.push(e);
  }

  private must(event: RunnerEvent & { name: string }, ...phases: Phase['name'][]): Runner {
    const r = this.get(event.name);
    if (!r || !phases.includes(r.phase.name)) throw new IllegalTransition(event, r);
    return r;
  }

  apply(e: RunnerEvent): void {
    switch (e.kind) {
      case 'job-taken':
        return this.jobTaken(e);
      case 'launch-begun':
        if (this.get(e.identity.runnerName)) throw new IllegalTransition(e, this.get(e.identity.runnerName));
        this.put({
          identity: e.identity,
          slot: e.slot,
          startedAt: e.at,
          phase: { name: 'starting' },
          work: isWarm(e.identity) ? { kind: 'none' } : { kind: 'none', claim: e.identity.jobId },
        });
        return;
      case 'launch-answered':
        return this.launchAnswered(this.must(e, 'starting'), e.outcome);
      case 'adopted':
        if (this.get(e.identity.runnerName)) return;
        this.put({
          identity: e.identity,
          slot: e.slot,
          startedAt: e.createdAt,
          phase: { name: 'up', containerId: e.containerId },
          work: { kind: 'none', ...(e.claim !== undefined ? { claim: e.claim } : {}) },
        });
        return;
      case 'job-started':
        return this.jobStarted(e.runner, e.jobId, e.repo, e.at, e.queued, e.assignment);
      case 'job-completed':
        return this.jobCompleted(e);
      case 'listed-busy': {
        const r = this.get(e.name);
        if (r && r.work.kind === 'none') this.put({ ...r, work: { ...r.work, kind: 'busy' } });
        return;
      }
      case 'refused':
        return this.refused(e.name, e.reason);
      case 'cleanup-asked':
        return this.cleanupAsked(e);
      case 'cleanup-ended':
        return this.cleanupEnded(this.must(e, 'finishing'), e.outcome, e.at);
      case 'spare-deleted':
        return this.spareDeleted(e);
      case 'runner-online':
        return this.runnerOnline(e);
      case 'retire-begun': {
        const r = this.must(e, 'up');
        if (r.phase.name !== 'up' || !isIdleWarm(r)) throw new IllegalTransition(e, r);
        this.put({ ...r, phase: { name: 'retiring', containerId: r.phase.containerId } });
        this.emit({ kind: 'delete-spare', name: e.name, why: e.why });
        return;
      }
      case 'retire-ended': {
        const r = this.get(e.name);
        if (r?.phase.name === 'retiring') this.put({ ...r, phase: { name: 'up', containerId: r.phase.containerId } });
        else if (r?.phase.name === 'finishing' && r.phase.was.name === 'retiring')
          this.put({ ...r, phase: { ...r.phase, was: { name: 'up', containerId: r.phase.containerId } } });
        return;
      }
    }
  }

  private jobTaken(e: Extract<RunnerEvent, { kind: 'job-taken' }>): void {
    const { job } = e;
    // An idle warm runner covers the job and GitHub hands it the job at once: it stands for the job, no runner is made.
    const warm = idleWarm(this.book, job.repo, job.profileName);
    if (warm) {
      this.put({ ...warm, work: { kind: 'none', claim: job.jobId, claimedAt: e.at } });
      this.emit({
        kind: 'log',
        level: 'info',
        fields: { repo: job.repo, jobId: job.jobId, runner: warm.identity.runnerName },
        msg: 'job stands on a warm runner',
      });
      this.emit({ kind: 'pump' });
      return;
    }
    this.emit({ kind: 'enqueue', job });
    this.emit({ kind: 'pump' });
    this.emit({ kind: 'note-credential-wait', jobId: job.jobId });
  }

  private launchAnswered(r: Runner, outcome: LaunchAnswer): void {
    const phase = r.phase as Extract<Phase, { name: 'starting' }>;
    const claim = claimOf(r);
    const { repo, profileName, runnerName, jobId } = r.identity;
    const log = { repo, jobId, runner: runnerName };
    if (outcome.kind !== 'container') {
      this.drop(r);
      this.emit({ kind: 'release-slot', slot: r.slot });
      // A failed launch gives its job back when GitHub failed (the poll offers it again) or when it was a warm
      // runner's (the job it came to stand for did not fail); Docker gone mid-start leaves runner and job to the
      // reconciler, which adopts the container if it exists and deletes the orphan runner if it does not.
      const giveBack = outcome.kind === 'docker-down' || isWarm(r.identity) || outcome.retry;
      if (giveBack && claim !== undefined) this.emit({ kind: 'give-back', jobId: claim });
      if (outcome.kind === 'docker-down')
        return this.emit({
          kind: 'log',
          level: 'warn',
          fields: log,
          msg: 'Docker unreachable while starting the container; the reconciler settles it when Docker answers',
        });
      if (isWarm(r.identity)) {
        // The pool waits before retrying.
        this.emit({ kind: 'pause-warm', repo, profileName });
        this.emit({ kind: 'note-error', message: `${repo} warm runner for ${profileName}: ${outcome.failure}` });
        return this.emit({ kind: 'log', level: 'error', fields: log, msg: outcome.failure });
      }
      this.emit({ kind: 'note-error', message: `${repo} job ${jobId}: ${outcome.failure}` });
      this.emit({ kind: 'log', level: 'error', fields: log, msg: outcome.failure });
      this.emit({
        kind: 'stage',
        jobId,
        stage: 'failed',
        fields: { repo, profile: profileName, detail: outcome.failure, at: outcome.at },
      });
      return this.emit({ kind: 'pump' });
    }
    const up: Phase = {
      name: 'up',
      containerId: outcome.containerId,
      ...(phase.refused ? { refused: phase.refused } : {}),
    };
    const placed = this.put({ ...r, phase: up, startedAt: outcome.at });
    const fields = { repo, profile: profileName, runnerName };
    if (!isWarm(r.identity))
      this.emit({ kind: 'stage', jobId, stage: 'container-started', fields: { ...fields, at: outcome.at } });
    const receivedAt = (r.slot as Partial<PendingJob>).receivedAt ?? r.startedAt;
    this.emit({
      kind: 'log',
      level: 'info',
      fields: { ...log, containerId: outcome.containerId.slice(0, 12), pickupMs: outcome.at - receivedAt },
      msg: isWarm(r.identity) ? 'warm runner container started' : 'container started',
    });
    // A fast runner can take its job before `docker start` returns; keep the timeline in causal order.
    if (phase.early)
      this.emit({
        kind: 'stage',
        jobId: phase.early.jobId,
        stage: 'in_progress',
        fields: { ...fields, repo: phase.early.repo, detail: isWarm(r.identity) ? 'warm' : 'cold', at: phase.early.at },
      });
    if (!phase.refused && !outcome.exitedEarly)
      this.emit({ kind: 'watch-online', name: runnerName, containerId: outcome.containerId });
    if (phase.refused) this.cleanupAsked({ kind: 'cleanup-asked', name: r.identity.runnerName, reason: phase.refused });
    else if (outcome.exitedEarly)
      this.cleanupAsked({ kind: 'cleanup-asked', name: r.identity.runnerName, reason: 'container exited' });
    else if (claimOf(placed) === undefined && !isBusy(placed) && !isWarm(r.identity))
      this.emit({
        kind: 'delete-spare',
        name: r.identity.runnerName,
        why: 'its job was taken by another runner or cancelled',
      });
  }

  /**
   * A cold runner's coming online is a stage of the job it was made for (the pickup by stage); a warm one's happened
   * before any job, so it is only logged. A runner already cleaning up, or gone, says nothing of its job.
   */
  private runnerOnline(e: Extract<RunnerEvent, { kind: 'runner-online' }>): void {
    const r = this.get(e.name);
    if (!r || r.phase.name === 'finishing') return;
    const { repo, jobId, profileName, runnerName } = r.identity;
    if (isWarm(r.identity))
      return this.emit({ kind: 'log', level: 'info', fields: { repo, runner: runnerName }, msg: 'warm runner online' });
    this.emit({
      kind: 'stage',
      jobId,
      stage: 'runner-online',
      fields: { repo, profile: profileName, runnerName, at: e.at },
    });
  }

  /** `assignment`: what GitHub says of the job, for a lane runner's check; absent when there is nothing to check. */
  private jobStarted(
    name: string | null,
    jobId: number,
    repo: string,
    at: number,
    queued: boolean,
    assignment?: Assignment,
  ): void {
    let r = this.get(name);
    // The claim the runner held (none once it runs a job), settled below.
    const handed = r && claimOf(r);
    if (r && runningJobOf(r) !== jobId) {
      const warm = isWarm(r.identity);
      const claimedAt = warm ? (r.work.claimedAt ?? at) : r.work.claimedAt;
      r = this.put({
        ...r,
        work: { kind: 'running', jobId, completed: false, ...(claimedAt !== undefined ? { claimedAt } : {}) },
      });
      this.emit({
        kind: 'log',
        level: 'info',
        fields: { repo, jobId, runner: name, madeFor: r.identity.repo },
        msg: 'runner picked up job',
      });
      if (r.phase.name === 'starting') this.put((r = { ...r, phase: { ...r.phase, early: { jobId, repo, at } } }));
      else
        this.emit({
          kind: 'stage',
          jobId,
          stage: 'in_progress',
          fields: {
            repo,
            profile: r.identity.profileName,
            runnerName: name!,
            // A warm hit: the job went to a runner that was already listening.
            detail: warm ? 'warm' : 'cold',
            at,
          },
        });
    }
    this.settleClaim(jobId, r, handed, queued);
    if (r && assignment) this.emit({ kind: 'check-assignment', name: name!, assignment });
  }

  /**
   * Job `jobId` has a runner now (`runner`, or one not ours when undefined). Whoever claimed it no longer needs to:
   * it takes over the claim `runner` held instead, or, with none to take, is a spare.
   */
  private settleClaim(jobId: number, runner: Runner | undefined, handed: number | undefined, queued: boolean): void {
    if (handed === jobId) return;
    const requeue = () => {
      if (handed !== undefined)
        this.emit({
          kind: 'requeue',
          jobId: handed,
          repo: runner!.identity.repo,
          profileName: runner!.identity.profileName,
        });
    };
    const holder = holderOf(this.book, jobId);
    if (holder) {
      const fits = handed !== undefined && runner !== undefined && interchangeable(holder.identity, runner.identity);
      const work = holder.work as Extract<Work, { kind: 'none' | 'busy' }>;
      if (fits) return void this.put({ ...holder, work: { ...work, claim: handed } });
      const { claim: _, ...rest } = work;
      requeue();
      // A warm runner freed of its job goes back to its pool, idle; a cold one has nothing left to do.
      if (isWarm(holder.identity)) {
        const { claimedAt: __, ...idle } = rest;
        this.put({ ...holder, work: idle });
      } else {
        const freed = this.put({ ...holder, work: rest });
        if (freed.phase.name !== 'starting' && !isBusy(freed))
          this.emit({
            kind: 'delete-spare',
            name: freed.identity.runnerName,
            why: 'its job was taken by another runner or cancelled',
          });
      }
      return;
    }
    if (queued) {
      this.emit({ kind: 'cancel-queued', jobId });
      requeue();
      this.emit({ kind: 'pump' });
      return;
    }
    // Nobody claimed it (its `queued` delivery is late or lost): the job `runner` stood for needs a runner again.
    requeue();
  }

  private jobCompleted(e: Extract<RunnerEvent, { kind: 'job-completed' }>): void {
    let r = this.get(e.runner);
    if (r) {
      // The in_progress delivery may be late or lost: settle the claim from this one.
      if (runningJobOf(r) !== e.jobId) this.jobStarted(e.runner, e.jobId, e.repo, e.at, e.queued);
      r = this.get(e.runner)!;
      // GitHub deregisters a JIT runner once its job completes, so its cleanup need not delete it (the reconciler
      // still sweeps any that linger offline).
      this.put({ ...r, work: { ...(r.work as Extract<Work, { kind: 'running' }>), completed: true } });
      this.emit({
        kind: 'stage',
        jobId: e.jobId,
        stage: 'completed',
        fields: { repo: r.identity.repo, profile: r.identity.profileName, runnerName: e.runner!, at: e.at },
      });
      return; // the ephemeral runner exits by itself; its container's exit triggers the cleanup
    }
    // Cancelled while queued (no runner), or run by a runner not ours: whoever claimed it is not needed for it.
    if (!e.runner && e.queued)
      this.emit({
        kind: 'log',
        level: 'info',
        fields: { repo: e.repo, jobId: e.jobId },
        msg: 'job cancelled while waiting for a slot: dropped',
      });
    this.settleClaim(e.jobId, undefined, undefined, e.queued);
  }

  /** Still starting, it is stopped once `docker run` answers; finishing, it stays refused if the cleanup fails. */
  private refused(name: string, reason: string): void {
    const r = this.get(name);
    if (!r) return;
    const p = r.phase;
    if (p.name === 'starting') return void this.put({ ...r, phase: { ...p, refused: reason } });
    if (p.name === 'finishing')
      return void this.put({ ...r, phase: { ...p, was: { name: 'up', containerId: p.containerId, refused: reason } } });
    this.put({ ...r, phase: { name: 'up', containerId: p.containerId, refused: reason } });
    this.cleanupAsked({ kind: 'cleanup-asked', name, reason });
  }

  /** Cleans up a runner with its container; one still starting, or already finishing, is left as it is. */
  private cleanupAsked(e: Extract<RunnerEvent, { kind: 'cleanup-asked' }>): void {
    const r = this.get(e.name);
    if (!r || (r.phase.name !== 'up' && r.phase.name !== 'retiring')) return;
    this.put({ ...r, phase: { name: 'finishing', containerId: r.phase.containerId, reason: e.reason, was: r.phase } });
    const completed = r.work.kind === 'running' && r.work.completed;
    this.emit({ kind: 'tear-down', name: e.name, reason: e.reason, deleteRunner: !e.runnerDeleted && !completed });
  }

  private cleanupEnded(
    r: Runner,
    outcome: { kind: 'done'; lastLines?: string[] } | { kind: 'failed' },
    at: number,
  ): void {
    const phase = r.phase as Extract<Phase, { name: 'finishing' }>;
    if (outcome.kind === 'failed') return void this.put({ ...r, phase: phase.was }); // the reconciler retries
    const { repo, jobId, runnerName: name, profileName } = r.identity;
    this.emit({ kind: 'forget-assignment', name });
    this.drop(r);
    this.emit({ kind: 'release-slot', slot: r.slot });
    // A runner that ends without having run a job puts its job back.
    const claim = claimOf(r);
    if (!isBusy(r) && claim !== undefined) {
      this.emit({
        kind: 'log',
        level: 'info',
        fields: { repo, jobId, runner: name, job: claim },
        msg: 'runner ended without a job: its job is offered again if GitHub still lists it queued',
      });
      this.emit({ kind: 'give-back', jobId: claim });
    }
    // A warm runner was made for no job: its end belongs to the job it ran, if it ran one.
    const ranJob = isWarm(r.identity) ? runningJobOf(r) : jobId;
    const { reason } = phase;
    if (ranJob !== undefined)
      this.emit({
        kind: 'stage',
        jobId: ranJob,
        stage: 'cleaned',
        fields: { repo, profile: profileName, runnerName: name, detail: reason, lastLines: outcome.lastLines, at },
      });
    this.emit({ kind: 'log', level: 'info', fields: { repo, jobId, runner: name, reason }, msg: 'runner cleaned up' });
    this.emit({ kind: 'pump' });
  }

  private spareDeleted(e: Extract<RunnerEvent, { kind: 'spare-deleted' }>): void {
    const r = this.get(e.name);
    if (!r) return;
    if (e.outcome === 'busy') {
      if (r.work.kind === 'none') this.put({ ...r, work: { ...r.work, kind: 'busy' } });
      return;
    }
    if (e.outcome === 'error' || claimOf(r) !== undefined) return;
    this.emit({
      kind: 'log',
      level: 'info',
      fields: { repo: r.identity.repo, jobId: r.identity.jobId, runner: e.name, why: e.why },
      msg: 'removing a spare runner',
    });
    this.cleanupAsked({ kind: 'cleanup-asked', name: e.name, reason: `spare runner: ${e.why}`, runnerDeleted: true });
  }
}
