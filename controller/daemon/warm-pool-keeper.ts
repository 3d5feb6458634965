// The warm pools kept: their state gathered from the controller's books, warm-pool.ts's decision carried out (warm
// runners started and retired), a failed pool paused, a queued job handed to an idle warm runner, and warm runners
// (warm-pool.ts is the pure decision; runner-adoption.ts counts warm runners found after a restart). warm-pool.ts stays the pure decision.
import type { Config } from '../config/config.js';
import type { PendingJob } from '../model/job.js';
import { findProfile } from './profile-match.js';
import type { RunnerBook, RunnerRecord } from './runner-book.js';
import type { Scheduler } from './scheduler.js';
import { slotLimits } from './slot-limits.js';
import { decidePools, poolRunner, poolStates, poolViews, warmLaunch, type PoolState } from './warm-pool.js';
import type { PoolView } from '../model/pool-view.js';

// A warm launch that failed (image missing, GitHub refusing) is not retried on every pump: the pool waits this long.
const WARM_RETRY_MS = 30_000;

export interface WarmPoolDeps {
  config: () => Config;
  now: () => number;
  /** The controller's live runners and its caps, which warm launches are held against. */
  book: RunnerBook;
  scheduler: Scheduler<PendingJob>;
}

/** What the keeper needs from the controller. */
export interface WarmPoolVerbs {
  /** Launches a warm runner into the slot the keeper holds for it. */
  launchWarm(item: PendingJob): void;
  /** Removes a runner that claims no job; GitHub refuses (422) if it took one meanwhile. */
  removeSpare(record: RunnerRecord, why: string): Promise<void>;
}

const poolKey = (repo: string, profile: string) => `${repo.toLowerCase()}\0${profile}`;

export class WarmPoolKeeper {
  /** Warm pools (repo and profile) whose last warm launch failed, until when they start nothing. */
  private readonly pausedUntil = new Map<string, number>();

  constructor(
    private readonly deps: WarmPoolDeps,
    private readonly verbs: WarmPoolVerbs,
  ) {}

  /** The warm pools as they stand: configured ones, and any whose warm runners the config no longer asks for. */
  states(): PoolState[] {
    const config = this.deps.config();
    const paused = (repo: string, profile: string) =>
      (this.pausedUntil.get(poolKey(repo, profile)) ?? 0) > this.deps.now();
    return poolStates(
      config,
      this.deps.book
        .all()
        .filter((r) => !r.cleaning)
        .map(poolRunner),
      this.deps.scheduler.queuedWhere(() => true),
      (repo, profile) => slotLimits(config, repo, profile),
      paused,
      this.deps.now(),
    );
  }

  views(): PoolView[] {
    return poolViews(this.states());
  }

  /** Tops each warm pool up to its size and stops the idle runners it no longer wants (see warm-pool.ts). */
  fill(): void {
    for (const d of decidePools(this.states(), (pool) => this.deps.scheduler.inUse(pool), this.deps.now())) {
      for (const { name, why } of d.stop) {
        const record = this.deps.book.get(name);
        if (record) void this.retire(record, why === 'idle-timeout' ? 'idle past idleTimeout' : 'its pool shrank');
      }
      const match = findProfile(this.deps.config(), d.repo, d.profileName);
      for (let i = 0; match && i < d.start; i++) {
        const item = warmLaunch(match, slotLimits(this.deps.config(), match.repo.repo, match.profile), this.deps.now());
        this.deps.scheduler.hold(item);
        this.verbs.launchWarm(item);
      }
    }
  }

  /** An idle warm runner covers the job and GitHub hands it the job at once: it stands for the job. */
  standFor(repo: string, profileName: string, jobId: number): RunnerRecord | undefined {
    const warm = this.deps.book.idleWarm(repo, profileName);
    if (!warm) return undefined;
    warm.claim = jobId;
    warm.claimedAt = this.deps.now();
    return warm;
  }

  /** A warm launch failed: the pool starts nothing until WARM_RETRY_MS have passed. */
  pause(repo: string, profileName: string): void {
    this.pausedUntil.set(poolKey(repo, profileName), this.deps.now() + WARM_RETRY_MS);
  }

  /** Removes an idle warm runner; GitHub refuses (422) if it took a job meanwhile, and then it runs that job. */
  private async retire(record: RunnerRecord, why: string): Promise<void> {
    record.retiring = true;
    await this.verbs.removeSpare(record, why);
    if (!record.cleaning) record.retiring = false;
  }
}
