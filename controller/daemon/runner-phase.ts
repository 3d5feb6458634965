// A live runner as the controller's book holds it: one phase of its life, and what it does about jobs beside it,
// each a union that carries only the data its case has, so a combination the daemon never makes cannot be written.
// The queries read it; runner-lifecycle.ts's step is the only code that makes a new one.
import type { Slot } from '../model/job.js';
import { isWarm, type RunnerIdentity, type RunnerView } from '../model/runner.js';

/**
 * Where a runner is in its life:
 * - `starting`: registered (JIT) and its container being made; `docker run` has not answered, so nobody may clean it
 *   up or delete its runner meanwhile.
 * - `up`: its container runs: listening for a job, or running one (see `work`).
 * - `retiring`: an idle warm runner its pool is removing (the delete is in flight): no job is handed to it, no pool
 *   counts it.
 * - `finishing`: its cleanup is under way (log tail, container removed, runner deleted, write-back), for `reason`;
 *   `was` is the phase it goes back to if Docker fails the cleanup (the reconciler retries).
 * A runner that is gone has left the book.
 */
export type Phase =
  | {
      name: 'starting';
      /** An in_progress that arrived before `docker run` answered; reported right after it. */
      early?: { jobId: number; repo: string; at: number };
      /** Its job was refused (assignment-check.ts): it is stopped as soon as it has a container. */
      refused?: string;
    }
  | { name: 'up'; containerId: string; refused?: string }
  | { name: 'retiring'; containerId: string }
  | { name: 'finishing'; containerId: string; reason: string; was: Extract<Phase, { name: 'up' | 'retiring' }> };

/**
 * What the runner does about jobs, whatever its phase:
 * - `none`: it ran no job. It stands for `claim` (the queued job it was made for or handed), or for none (a spare,
 *   or an idle warm runner).
 * - `busy`: GitHub lists it busy (or refused to delete it, 422) but no delivery said which job it runs yet.
 * - `running`: GitHub said it runs `jobId`; `completed` once GitHub said that job completed (GitHub then deregisters
 *   the runner itself).
 * `claimedAt`: when a warm runner began to stand for a job or run one (its timeouts count from there).
 */
export type Work =
  | { kind: 'none'; claim?: number; claimedAt?: number }
  | { kind: 'busy'; claim?: number; claimedAt?: number }
  | { kind: 'running'; jobId: number; completed: boolean; claimedAt?: number };

export interface Runner {
  readonly identity: RunnerIdentity;
  readonly slot: Slot;
  /** When its launch began, then when its container started (or, adopted, when its container was created). */
  readonly startedAt: number;
  readonly phase: Phase;
  readonly work: Work;
}

/** Live runners by name: from admission until their cleanup ends. */
export type Book = ReadonlyMap<string, Runner>;

export const isBusy = (r: Runner) => r.work.kind !== 'none';
export const claimOf = (r: Runner) => (r.work.kind === 'running' ? undefined : r.work.claim);
export const containerOf = (r: Runner) => (r.phase.name === 'starting' ? undefined : r.phase.containerId);
export const refusedOf = (r: Runner) =>
  r.phase.name === 'starting' || r.phase.name === 'up'
    ? r.phase.refused
    : r.phase.name === 'finishing' && r.phase.was.name === 'up'
      ? r.phase.was.refused
      : undefined;

/** A warm runner that stands for no job, runs none and is not on its way out: the only kind a pool may hand a job. */
export const isIdleWarm = (r: Runner) =>
  isWarm(r.identity) &&
  r.work.kind === 'none' &&
  r.work.claim === undefined &&
  (r.phase.name === 'starting' || r.phase.name === 'up');

/** The live runner that stands for `jobId`, if one does. */
export function holderOf(book: Book, jobId: number): Runner | undefined {
  for (const r of book.values()) if (claimOf(r) === jobId && r.phase.name !== 'finishing') return r;
  return undefined;
}

/** A warm runner of this repo and profile that stands for no job, the longest-started first (launching last). */
export function idleWarm(book: Book, repo: string, profileName: string): Runner | undefined {
  return [...book.values()]
    .filter((r) => isIdleWarm(r) && r.identity.repo === repo && r.identity.profileName === profileName)
    .sort(
      (a, b) => Number(a.phase.name === 'starting') - Number(b.phase.name === 'starting') || a.startedAt - b.startedAt,
    )[0];
}

/** A copy for status, metrics and health. */
export function viewOf(r: Runner): RunnerView {
  const containerId = containerOf(r);
  const claim = claimOf(r);
  const claimedAt = r.work.claimedAt;
  return {
    identity: { ...r.identity },
    ...(containerId ? { containerId } : {}),
    startedAt: r.startedAt,
    busy: isBusy(r),
    ...(claim !== undefined ? { claim } : {}),
    ...(isWarm(r.identity) ? { warm: true } : {}),
    ...(claimedAt !== undefined ? { claimedAt } : {}),
  };
}

/**
 * Whether GitHub would hand one runner's job to the other: same profile (labels and group) and same scope. An org
 * runner made for repo A may take repo B's job; only another org runner of that org can then take A's in its place.
 */
export function interchangeable(a: RunnerIdentity, b: RunnerIdentity): boolean {
  const scope = (r: RunnerIdentity) => (r.org ? `org:${r.org}` : `repo:${r.repo}`).toLowerCase();
  return a.profileName === b.profileName && scope(a) === scope(b);
}
