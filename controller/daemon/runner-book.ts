// The controller's books: its live runners by name (runner-lifecycle.ts), the jobs it has accounted for, and what a
// Docker listing must be checked against. A cache of what Docker labels and GitHub's lists hold, which the
// reconciler rebuilds after a restart. Runners change only through `apply`, that is through `step`.
import type { RunnerView } from '../model/runner.js';
import { BoundedSet } from '../util/bounded-set.js';
import { step, type Effect, type RunnerEvent } from './runner-lifecycle.js';
import { containerOf, holderOf, refusedOf, viewOf, type Book, type Runner } from './runner-phase.js';

const JOBS_REMEMBERED = 50_000;
/** Runners that left the book, remembered for listings older than their leaving; a pass takes seconds, not 1,000 jobs. */
const LEFT_REMEMBERED = 1_000;

export class RunnerBook {
  private runners: Book = new Map();
  /** Jobs accounted for: claimed, running, or done. */
  private readonly seen = new BoundedSet<number>(JOBS_REMEMBERED);
  private readonly finished = new BoundedSet<number>(JOBS_REMEMBERED);
  /** Counts the changes a Docker listing may be older than: a runner getting its container, or leaving. */
  private changes = 0;
  private readonly containerAt = new Map<string, number>();
  private readonly leftAt = new Map<string, number>();
  /** Containers whose exit came before `docker run` answered, so the launch cleans them up once it does. */
  private readonly exitedEarly = new BoundedSet<string>(1_000);
  private closed = false;

  constructor(finishedJobs: Iterable<number> = []) {
    for (const id of finishedJobs) this.markFinished(id);
  }

  /** Runs the event through `step`, keeps the book it returns, and hands back the effects to carry out. */
  apply(event: RunnerEvent): Effect[] {
    const before = this.runners;
    const { book, effects } = step(before, event);
    this.runners = book;
    if (event.kind === 'launch-answered' || event.kind === 'cleanup-ended') {
      const name = event.name;
      const now = book.get(name);
      if (now && containerOf(now) && !containerOf(before.get(name)!)) this.containerAt.set(name, ++this.changes);
      if (!now) {
        this.containerAt.delete(name);
        // Docker gone mid-start: a listing that shows the container (whatever its age) is the cue to adopt it.
        if (!(event.kind === 'launch-answered' && event.outcome.kind === 'docker-down')) {
          this.leftAt.set(name, ++this.changes);
          if (this.leftAt.size > LEFT_REMEMBERED) this.leftAt.delete(this.leftAt.keys().next().value!);
        }
      }
    }
    return effects;
  }

  /** True when the job is new here, and counts it; false for a duplicate or a job known to have finished. */
  take(jobId: number): boolean {
    return !this.finished.has(jobId) && this.seen.add(jobId);
  }

  markSeen(jobId: number): void {
    this.seen.add(jobId);
  }

  markFinished(jobId: number): void {
    this.finished.add(jobId);
    this.seen.add(jobId);
  }

  isFinished(jobId: number): boolean {
    return this.finished.has(jobId);
  }

  /** A claim with no runner left: the job is forgotten, so the poll offers it again if GitHub still lists it queued. */
  giveBack(jobId: number | undefined): void {
    if (jobId !== undefined && !this.finished.has(jobId)) this.seen.delete(jobId);
  }

  /** A container exited that no runner has yet: its launch cleans it up once `docker run` answers. */
  exitedBeforeStart(containerId: string): void {
    this.exitedEarly.add(containerId);
  }

  hasExitedEarly(containerId: string): boolean {
    return this.exitedEarly.has(containerId);
  }

  /** The book as it stands, to compare a Docker listing with: taken before the listing is asked for. */
  mark(): number {
    return this.changes;
  }

  /**
   * Whether the runner got its container, or left the book with its container gone, after `mark`: a listing asked for
   * at `mark` may show the container it has as missing, or the container its cleanup removed as still there.
   */
  changedSince(name: string, mark: number): boolean {
    const at = (this.runners.has(name) ? this.containerAt.get(name) : undefined) ?? this.leftAt.get(name);
    return at !== undefined && at > mark;
  }

  /** The controller stopped: no runner is live for an assignment check any more. */
  close(): void {
    this.closed = true;
  }

  /** A runner whose assignment may still be checked and released: live, not finishing, not refused. */
  isLive(name: string): boolean {
    const r = this.runners.get(name);
    return !this.closed && r !== undefined && r.phase.name !== 'finishing' && refusedOf(r) === undefined;
  }

  get(name: string | null | undefined): Runner | undefined {
    return name ? this.runners.get(name) : undefined;
  }

  all(): Runner[] {
    return [...this.runners.values()];
  }

  byContainer(containerId: string): Runner | undefined {
    return this.all().find((r) => containerOf(r) === containerId);
  }

  /** The live runner that stands for `jobId`, if one does. */
  holderOf(jobId: number): Runner | undefined {
    return holderOf(this.runners, jobId);
  }

  /** Copies, for status, metrics and health. */
  views(): RunnerView[] {
    return this.all().map(viewOf);
  }
}
