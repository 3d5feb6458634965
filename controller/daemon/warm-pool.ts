// Warm pools: runners registered and started before any job asks, so a queued job goes to one that already listens.
// Everything here is pure: the pool's size at a moment (its schedule, in its time zone, by Intl), and how many warm
// runners to start and which idle ones to stop now, from the pools' state, the caps and the clock. warm-pool-keeper.ts
// gathers the state, then carries the decision out through the controller's launch and its spare-runner removal.
import { randomBytes } from 'node:crypto';
import type { Config, Profile } from '../config/config.js';
import type { PoolView } from '../model/pool-view.js';
import type { PendingJob } from '../model/job.js';
import { isWarm, WARM_JOB_ID } from '../model/runner.js';
import type { Match } from './profile-match.js';
import { claimOf, containerOf, isBusy, isIdleWarm, type Runner } from './runner-phase.js';

export type Warm = NonNullable<Profile['warm']>;
type Schedule = NonNullable<Warm['schedule']>;
type Limit = { pool: string; max: number };

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
const WEEKDAY: Record<string, (typeof DAYS)[number]> = {
  Sun: 'sun',
  Mon: 'mon',
  Tue: 'tue',
  Wed: 'wed',
  Thu: 'thu',
  Fri: 'fri',
  Sat: 'sat',
};
const formats = new Map<string, Intl.DateTimeFormat>();

/** The weekday and minute of the day at `now` on the wall clock of `timeZone`. */
export function wallClock(timeZone: string, now: number): { day: (typeof DAYS)[number]; minute: number } {
  let f = formats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    formats.set(timeZone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(now).map((p) => [p.type, p.value]));
  return { day: WEEKDAY[parts.weekday!]!, minute: Number(parts.hour) * 60 + Number(parts.minute) };
}

const minutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** Inside the window? One that crosses midnight (from > to) belongs to the day it starts on. */
export function inWindow(s: Schedule, now: number): boolean {
  const { day, minute } = wallClock(s.timeZone, now);
  const from = minutes(s.from);
  const to = minutes(s.to);
  const on = (d: string) => (s.days as readonly string[]).includes(d);
  if (from < to) return on(day) && minute >= from && minute < to;
  const yesterday = DAYS[(DAYS.indexOf(day) + 6) % 7]!;
  return (on(day) && minute >= from) || (on(yesterday) && minute < to);
}

/** How many idle runners the pool keeps now: `min`, or 0 outside its schedule. */
export function poolTarget(warm: Warm, now: number): number {
  return !warm.schedule || inWindow(warm.schedule, now) ? warm.min : 0;
}

/** A warm runner that holds no job: the only kind a pool may stop. */
export interface IdleRunner {
  name: string;
  /** When its container started (or its launch began): the age idleTimeout counts. */
  since: number;
  /** Still registering or starting: it cannot be stopped yet. */
  launching: boolean;
}

export interface PoolState {
  repo: string;
  profileName: string;
  target: number;
  max?: number;
  idleTimeout: number;
  idle: IdleRunner[];
  /** Every live runner of this repo and profile: idle, standing for a job, or running one. */
  live: number;
  /**
   * Jobs of this repo and profile queued at GitHub that no warm runner stands for (waiting for a slot, or claimed by
   * a cold runner still booting). While there are any, a new warm runner would take one of them from the runner
   * made for it, so the pool starts none: jobs come first, and no burst registers more runners than jobs plus `min`.
   */
  demand: number;
  limits: readonly Limit[];
  /** A warm launch of this pool failed a moment ago: start nothing until its backoff ends. */
  paused: boolean;
}

export interface PoolDecision {
  repo: string;
  profileName: string;
  start: number;
  stop: Array<{ name: string; why: 'idle-timeout' | 'shrink' }>;
}

/**
 * What to do now, pool by pool in the order given. Idle runners past idleTimeout are recycled, idle runners beyond
 * the pool's size are stopped (oldest first), and the pool is topped up to its size within its `max` and within every
 * cap it shares with the others (`used`: the slots each cap has held now, stopped runners included until cleaned).
 */
export function decidePools(pools: readonly PoolState[], used: (pool: string) => number, now: number): PoolDecision[] {
  const held = new Map<string, number>();
  const inUse = (pool: string) => held.get(pool) ?? used(pool);
  return pools.map((p) => {
    const removable = p.idle.filter((r) => !r.launching).sort((a, b) => a.since - b.since);
    const expired = removable.filter((r) => now - r.since >= p.idleTimeout);
    const fresh = removable.filter((r) => now - r.since < p.idleTimeout);
    const keptIdle = p.idle.length - expired.length;
    const surplus = fresh.slice(0, Math.max(0, keptIdle - p.target));
    const stop = [
      ...expired.map((r) => ({ name: r.name, why: 'idle-timeout' as const })),
      ...surplus.map((r) => ({ name: r.name, why: 'shrink' as const })),
    ];
    const idleAfter = p.idle.length - stop.length;
    let start = p.paused || p.demand > 0 ? 0 : Math.max(0, p.target - idleAfter);
    if (p.max !== undefined) start = Math.min(start, Math.max(0, p.max - (p.live - stop.length)));
    for (const l of p.limits) start = Math.min(start, Math.max(0, l.max - inUse(l.pool)));
    for (const l of p.limits) held.set(l.pool, inUse(l.pool) + start);
    return { repo: p.repo, profileName: p.profileName, start, stop };
  });
}

/** What the controller knows of a live runner, as the pool reads it. */
export interface PoolRunner {
  repo: string;
  profileName: string;
  warm: boolean;
  /** A warm runner that holds no job, is not busy and is not on its way out. */
  idle: boolean;
  /** Stands for a queued job (has a claim) and has run none yet. */
  claimed: boolean;
  launching: boolean;
  since: number;
  name: string;
}

/** A live runner of the controller's book, as the pool reads it. */
export function poolRunner(r: Runner): PoolRunner {
  return {
    repo: r.identity.repo,
    profileName: r.identity.profileName,
    warm: isWarm(r.identity),
    idle: isIdleWarm(r),
    claimed: claimOf(r) !== undefined && !isBusy(r),
    launching: containerOf(r) === undefined,
    since: r.startedAt,
    name: r.identity.runnerName,
  };
}

/** What the launcher is given for a warm runner: a launch like a job's, for no job (WARM_JOB_ID), with its slot. */
export function warmLaunch(match: Match, limits: PendingJob['limits'], now: number): PendingJob {
  return {
    key: `warm:${randomBytes(4).toString('hex')}`,
    limits,
    jobId: WARM_JOB_ID,
    repo: match.repo.repo,
    profileName: match.profileName,
    profile: match.profile,
    receivedAt: now,
  };
}

const poolKey = (repo: string, profile: string) => `${repo.toLowerCase()}\0${profile}`;

/**
 * The pools to decide on: every profile of a repo that has `warm`, and every repo and profile that still has warm
 * runners though the config no longer asks for them (size 0, so they are stopped).
 */
export function poolStates(
  config: Config,
  runners: readonly PoolRunner[],
  queued: ReadonlyArray<{ repo: string; profileName: string }>,
  limitsFor: (repo: string, profile: Profile | undefined) => readonly Limit[],
  paused: (repo: string, profile: string) => boolean,
  now: number,
): PoolState[] {
  const pools = new Map<string, PoolState>();
  const add = (repo: string, profileName: string, profile: Profile | undefined) => {
    const warm = profile?.warm;
    pools.set(poolKey(repo, profileName), {
      repo,
      profileName,
      target: warm ? poolTarget(warm, now) : 0,
      ...(warm?.max !== undefined ? { max: warm.max } : {}),
      idleTimeout: warm?.idleTimeout ?? Infinity,
      idle: [],
      live: 0,
      demand: 0,
      limits: limitsFor(repo, profile),
      paused: paused(repo, profileName),
    });
  };
  for (const r of config.repos)
    for (const name of r.profiles) {
      const profile = Object.hasOwn(config.profiles, name) ? config.profiles[name] : undefined;
      if (profile?.warm) add(r.repo, name, profile);
    }
  for (const r of runners)
    if (r.warm && !pools.has(poolKey(r.repo, r.profileName))) add(r.repo, r.profileName, undefined);
  for (const r of runners) {
    const pool = pools.get(poolKey(r.repo, r.profileName));
    if (!pool) continue;
    pool.live++;
    if (r.idle) pool.idle.push({ name: r.name, since: r.since, launching: r.launching });
    if (r.claimed && !r.warm) pool.demand++;
  }
  for (const q of queued) {
    const pool = pools.get(poolKey(q.repo, q.profileName));
    if (pool) pool.demand++;
  }
  return [...pools.values()];
}

export function poolViews(states: readonly PoolState[]): PoolView[] {
  return states.map((p) => ({
    repo: p.repo,
    profile: p.profileName,
    target: p.target,
    idle: p.idle.filter((r) => !r.launching).length,
    starting: p.idle.filter((r) => r.launching).length,
    live: p.live,
  }));
}
