// The controller's books: its live runners by name, the jobs it has accounted for, and which queued job each runner
// stands for (its claim; see controller.ts for the rule). A cache of what Docker labels and GitHub's lists hold,
// which the reconciler rebuilds after a restart.
import type { Slot } from '../model/job.js';
import type { RunnerIdentity, RunnerView } from '../model/runner.js';
import { BoundedSet } from '../util/bounded-set.js';

export interface RunnerRecord {
  identity: RunnerIdentity;
  slot: Slot;
  containerId?: string;
  startedAt: number;
  busy: boolean;
  cleaning: boolean;
  /** From admission until `docker run` answers: nobody may clean it up or delete its runner meanwhile. */
  launching: boolean;
  /** The queued job this runner stands for; undefined once it ran one or became spare. */
  claim?: number;
  /** The job GitHub says it runs (from in_progress or completed). */
  runningJob?: number;
  /** GitHub said the runner's job completed: it deregisters the runner itself. */
  jobCompleted?: boolean;
  /** Started by a warm pool for no job: idle while it holds no claim and runs none. */
  warm?: boolean;
  /** A warm runner the pool is removing (its delete is in flight): no job is handed to it, no pool counts it. */
  retiring?: boolean;
  /** When a warm runner began to stand for a job. */
  claimedAt?: number;
  /** An in_progress that arrived while `docker start` had not yet returned; reported right after it. */
  startedEarly?: { jobId: number; repo: string; at: number };
  /** Why its job was refused (assignment-check.ts): it is stopped as soon as it has a container. */
  refused?: string;
  /** The book's change count when `docker run` answered with its container (see `changedSince`). */
  containerAt?: number;
}

const JOBS_REMEMBERED = 50_000;
/** Runners that left the book, remembered for listings older than their leaving; a pass takes seconds, not 1,000 jobs. */
const LEFT_REMEMBERED = 1_000;

export class RunnerBook {
  private readonly runners = new Map<string, RunnerRecord>();
  /** Jobs accounted for: claimed, running, or done. */
  private readonly seen = new BoundedSet<number>(JOBS_REMEMBERED);
  private readonly finished = new BoundedSet<number>(JOBS_REMEMBERED);
  /** Counts the changes a Docker listing may be older than: a runner getting its container, or leaving. */
  private changes = 0;
  private readonly leftAt = new Map<string, number>();

  constructor(finishedJobs: Iterable<number> = []) {
    for (const id of finishedJobs) this.markFinished(id);
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

  add(record: RunnerRecord): void {
    this.runners.set(record.identity.runnerName, record);
  }

  /**
   * `containerGone`: its container was removed, or never made; false when Docker went away mid-start, and a listing
   * that shows the container (whatever its age) is the reconciler's cue to adopt it.
   */
  remove(record: RunnerRecord, containerGone = true): void {
    const name = record.identity.runnerName;
    this.runners.delete(name);
    if (!containerGone) return;
    this.leftAt.set(name, ++this.changes);
    if (this.leftAt.size > LEFT_REMEMBERED) this.leftAt.delete(this.leftAt.keys().next().value!);
  }

  /** `docker run` answered: the runner has its container. */
  placed(record: RunnerRecord, containerId: string): void {
    record.containerId = containerId;
    record.containerAt = ++this.changes;
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
    const at = this.runners.get(name)?.containerAt ?? this.leftAt.get(name);
    return at !== undefined && at > mark;
  }

  get(name: string | null | undefined): RunnerRecord | undefined {
    return name ? this.runners.get(name) : undefined;
  }

  records(): RunnerRecord[] {
    return [...this.runners.values()];
  }

  byContainer(containerId: string): RunnerRecord | undefined {
    return [...this.runners.values()].find((r) => r.containerId === containerId);
  }

  all(): RunnerRecord[] {
    return [...this.runners.values()];
  }

  /** A warm runner of this repo and profile that stands for no job and runs none, the longest-started first. */
  idleWarm(repo: string, profileName: string): RunnerRecord | undefined {
    return this.all()
      .filter((r) => isIdleWarm(r) && r.identity.repo === repo && r.identity.profileName === profileName)
      .sort((a, b) => Number(a.launching) - Number(b.launching) || a.startedAt - b.startedAt)[0];
  }

  /** The live runner that stands for `jobId`, if one does. */
  holderOf(jobId: number): RunnerRecord | undefined {
    return [...this.runners.values()].find((r) => r.claim === jobId && !r.cleaning);
  }

  /** Copies, for status, metrics and health. */
  views(): RunnerView[] {
    return [...this.runners.values()].map((r) => ({
      identity: { ...r.identity },
      ...(r.containerId ? { containerId: r.containerId } : {}),
      startedAt: r.startedAt,
      busy: r.busy,
      ...(r.claim !== undefined ? { claim: r.claim } : {}),
      ...(r.warm ? { warm: true } : {}),
      ...(r.claimedAt !== undefined ? { claimedAt: r.claimedAt } : {}),
    }));
  }
}

export const isIdleWarm = (r: RunnerRecord) =>
  r.warm === true && r.claim === undefined && !r.busy && !r.cleaning && !r.retiring && r.runningJob === undefined;
