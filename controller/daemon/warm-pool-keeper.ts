// The warm pools kept: their state gathered from the controller's books, warm-pool.ts's decision turned into what
// the controller carries out (warm runners to launch into the slots held here, idle ones to retire), and a failed
// pool paused. warm-pool.ts stays the pure decision; runner-adoption.ts counts warm runners found after a restart.
import type { Config } from '../config/config.js';
import type { PendingJob } from '../model/job.js';
import { findProfile } from './profile-match.js';
import type { RunnerBook } from './runner-book.js';
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

/** What the controller does for the pools, in order: launch a warm runner into a held slot, or retire an idle one. */
export type PoolAction = { kind: 'launch'; item: PendingJob } | { kind: 'retire'; name: string; why: string };

const poolKey = (repo: string, profile: string) => `${repo.toLowerCase()}\0${profile}`;

export class WarmPoolKeeper {
  /** Warm pools (repo and profile) whose last warm launch failed, until when they start nothing. */
  private readonly pausedUntil = new Map<string, number>();

  constructor(private readonly deps: WarmPoolDeps) {}

  /** The warm pools as they stand: configured ones, and any whose warm runners the config no longer asks for. */
  states(): PoolState[] {
    const config = this.deps.config();
    const paused = (repo: string, profile: string) =>
      (this.pausedUntil.get(poolKey(repo, profile)) ?? 0) > this.deps.now();
    return poolStates(
      config,
      this.deps.book
        .all()
        .filter((r) => r.phase.name !== 'finishing')
        .map(poolRunner),
      this.deps.scheduler.queuedWhere(() => true),
      (repo, profile) => slotLimits(config, repo, profile, { warm: true }),
      paused,
      this.deps.now(),
    );
  }

  views(): PoolView[] {
    return poolViews(this.states());
  }

  /**
   * Tops each warm pool up to its size and stops the idle runners it no longer wants (see warm-pool.ts): the slots of
   * the warm runners to launch are held here, the launches and retirements are the controller's to carry out.
   */
  fill(): PoolAction[] {
    const actions: PoolAction[] = [];
    for (const d of decidePools(this.states(), (pool) => this.deps.scheduler.inUse(pool), this.deps.now())) {
      for (const { name, why } of d.stop)
        if (this.deps.book.get(name))
          actions.push({
            kind: 'retire',
            name,
            why: why === 'idle-timeout' ? 'idle past idleTimeout' : 'its pool shrank',
          });
      const match = findProfile(this.deps.config(), d.repo, d.profileName);
      for (let i = 0; match && i < d.start; i++) {
        const limits = slotLimits(this.deps.config(), match.repo.repo, match.profile, { warm: true });
        const item = warmLaunch(match, limits, this.deps.now());
        this.deps.scheduler.hold(item);
        actions.push({ kind: 'launch', item });
      }
    }
    return actions;
  }

  /** A warm launch failed: the pool starts nothing until WARM_RETRY_MS have passed. */
  pause(repo: string, profileName: string): void {
    this.pausedUntil.set(poolKey(repo, profileName), this.deps.now() + WARM_RETRY_MS);
  }
}
