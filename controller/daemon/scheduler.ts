// Admission under per-repo and global caps. Jobs wait in arrival order; a job blocked by its repo's cap does not hold
// back another repo's job, but two jobs that share every cap start in the order they came.
import type { Slot } from '../model/job.js';

export type { Slot } from '../model/job.js';

export class Scheduler<T extends Slot> {
  private readonly waiting: T[] = [];
  private readonly used = new Map<string, number>();

  enqueue(item: T): void {
    this.waiting.push(item);
  }

  /** Drops a waiting item (its job was cancelled while queued); true when it was waiting. */
  cancel(key: string): boolean {
    const i = this.waiting.findIndex((w) => w.key === key);
    if (i < 0) return false;
    this.waiting.splice(i, 1);
    return true;
  }

  /** Takes every waiting item that now fits, reserving its slots, in arrival order. */
  admit(): T[] {
    const admitted: T[] = [];
    for (let i = 0; i < this.waiting.length;) {
      const item = this.waiting[i]!;
      if (item.limits.every((l) => (this.used.get(l.pool) ?? 0) < l.max)) {
        this.waiting.splice(i, 1);
        this.hold(item);
        admitted.push(item);
      } else i++;
    }
    return admitted;
  }

  /** Counts an item that is already running (adopted after a restart) against its caps. */
  hold(item: Slot): void {
    for (const l of item.limits) this.used.set(l.pool, (this.used.get(l.pool) ?? 0) + 1);
  }

  release(item: Slot): void {
    for (const l of item.limits) this.used.set(l.pool, Math.max(0, (this.used.get(l.pool) ?? 0) - 1));
  }

  get queued(): number {
    return this.waiting.length;
  }

  queuedWhere(pred: (item: T) => boolean): T[] {
    return this.waiting.filter(pred);
  }

  inUse(pool: string): number {
    return this.used.get(pool) ?? 0;
  }
}
