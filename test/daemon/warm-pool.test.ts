// The warm pool's pure decision: how many runners to start and which idle ones to stop, from the pools' state, the
// caps, the schedule and the clock. Properties over generated states pin the cap invariants; cases pin the rest.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decidePools,
  inWindow,
  poolTarget,
  wallClock,
  type PoolState,
  type Warm,
} from '../../controller/daemon/warm-pool.js';

const MIN = 60_000;
const NOW = Date.UTC(2026, 10, 30, 12, 0); // a Monday, 12:00 UTC

const pool = (over: Partial<PoolState> = {}): PoolState => ({
  repo: 'o/r',
  profileName: 'ci',
  target: 2,
  idleTimeout: 30 * MIN,
  idle: [],
  live: 0,
  demand: 0,
  limits: [
    { pool: 'global', max: 8 },
    { pool: 'repo:o/r', max: 4 },
  ],
  paused: false,
  ...over,
});
const idle = (name: string, ageMin: number, launching = false) => ({ name, since: NOW - ageMin * MIN, launching });

const poolArb = fc
  .record({
    profileName: fc.constantFrom('a', 'b', 'c'),
    repo: fc.constantFrom('o/r', 'o/s'),
    target: fc.nat({ max: 6 }),
    max: fc.option(fc.integer({ min: 1, max: 10 }), { nil: undefined }),
    idleTimeout: fc.integer({ min: 1, max: 60 }).map((m) => m * MIN),
    idle: fc.array(
      fc
        .record({ age: fc.nat({ max: 90 }), launching: fc.boolean() })
        .map((r) => ({ since: NOW - r.age * MIN, launching: r.launching })),
      { maxLength: 8 },
    ),
    busy: fc.nat({ max: 6 }),
    demand: fc.nat({ max: 3 }),
    paused: fc.boolean(),
  })
  .map((p): PoolState => ({
    repo: p.repo,
    profileName: p.profileName,
    target: p.target,
    ...(p.max !== undefined ? { max: p.max } : {}),
    idleTimeout: p.idleTimeout,
    idle: p.idle.map((r, i) => ({ ...r, name: `${p.repo}/${p.profileName}/${i}` })),
    live: p.idle.length + p.busy,
    demand: p.demand,
    limits: [
      { pool: 'global', max: 0 },
      { pool: `repo:${p.repo}`, max: 0 },
    ],
    paused: p.paused,
  }));
// One scenario: the caps (the same for every pool that names them), what each already holds, and the pools.
const capsArb = fc.record({
  global: fc.integer({ min: 1, max: 12 }),
  'repo:o/r': fc.integer({ min: 1, max: 8 }),
  'repo:o/s': fc.integer({ min: 1, max: 8 }),
});
const scenario = (minPools: number) =>
  fc
    .tuple(fc.array(poolArb, { minLength: minPools, maxLength: 5 }), capsArb)
    .map(([pools, caps]) =>
      pools.map((p) => ({ ...p, limits: p.limits.map((l) => ({ ...l, max: caps[l.pool as keyof typeof caps] })) })),
    );
const usedArb = fc.record({
  global: fc.nat({ max: 14 }),
  'repo:o/r': fc.nat({ max: 9 }),
  'repo:o/s': fc.nat({ max: 9 }),
});

describe('the pool decision, for generated pools sharing caps', () => {
  it('never starts more runners than any cap has room for, summed over every pool that shares it', () => {
    fc.assert(
      fc.property(scenario(0), usedArb, (pools, used) => {
        const decisions = decidePools(pools, (p) => used[p as keyof typeof used] ?? 0, NOW);
        const started = new Map<string, number>();
        decisions.forEach((d, i) => {
          for (const l of pools[i]!.limits) started.set(l.pool, (started.get(l.pool) ?? 0) + d.start);
        });
        for (const p of pools)
          for (const l of p.limits) {
            const room = Math.max(0, l.max - (used[l.pool as keyof typeof used] ?? 0));
            expect(started.get(l.pool) ?? 0).toBeLessThanOrEqual(room);
          }
      }),
      { numRuns: 500 },
    );
  });

  it('keeps each pool within its max, stops only idle runners that are not launching, and starts nothing while jobs wait or the pool is paused', () => {
    fc.assert(
      fc.property(scenario(1), usedArb, (pools, used) => {
        const decisions = decidePools(pools, (p) => used[p as keyof typeof used] ?? 0, NOW);
        decisions.forEach((d, i) => {
          const p = pools[i]!;
          const stoppable = new Set(p.idle.filter((r) => !r.launching).map((r) => r.name));
          expect(d.stop.every((s) => stoppable.has(s.name))).toBe(true);
          expect(new Set(d.stop.map((s) => s.name)).size).toBe(d.stop.length);
          if (p.max !== undefined && d.start > 0) expect(p.live - d.stop.length + d.start).toBeLessThanOrEqual(p.max);
          if (p.demand > 0 || p.paused) expect(d.start).toBe(0);
          // Never more idle runners than the pool's size through a start.
          if (d.start > 0) expect(p.idle.length - d.stop.length + d.start).toBeLessThanOrEqual(p.target);
          // Every idle runner past idleTimeout that can be stopped is recycled.
          for (const r of p.idle)
            if (!r.launching && NOW - r.since >= p.idleTimeout)
              expect(d.stop).toContainEqual({ name: r.name, why: 'idle-timeout' });
        });
      }),
      { numRuns: 500 },
    );
  });

  it('fills a pool to exactly its size when nothing holds it back', () => {
    fc.assert(
      fc.property(poolArb, (p) => {
        const free = { ...p, max: undefined, demand: 0, paused: false, limits: [{ pool: 'global', max: 1_000 }] };
        const [d] = decidePools([free], () => 0, NOW);
        const launching = p.idle.filter((r) => r.launching).length;
        expect(p.idle.length - d!.stop.length + d!.start).toBe(Math.max(p.target, launching));
      }),
      { numRuns: 300 },
    );
  });
});

describe('the pool decision, case by case', () => {
  it('starts the missing runners of an empty pool', () => {
    expect(decidePools([pool()], () => 0, NOW)).toEqual([{ repo: 'o/r', profileName: 'ci', start: 2, stop: [] }]);
  });

  it('a taken warm runner is replaced at once: one idle left of two, one started', () => {
    const [d] = decidePools([pool({ idle: [idle('w1', 1)], live: 2 })], () => 2, NOW);
    expect(d!.start).toBe(1);
  });

  it('recycles an idle runner past idleTimeout and starts its replacement in the same decision', () => {
    const [d] = decidePools([pool({ idle: [idle('old', 31), idle('new', 5)], live: 2 })], () => 2, NOW);
    expect(d!.stop).toEqual([{ name: 'old', why: 'idle-timeout' }]);
    expect(d!.start).toBe(1);
  });

  it('shrinks by stopping the oldest idle runners, never one still launching', () => {
    const [d] = decidePools(
      [pool({ target: 1, idle: [idle('a', 3), idle('b', 2), idle('c', 0, true)], live: 3 })],
      () => 3,
      NOW,
    );
    expect(d!.stop.map((s) => s.name)).toEqual(['a', 'b']);
    expect(d!.start).toBe(0);
  });

  it('starts nothing while a job of the pool waits for a slot or for its cold runner', () => {
    expect(decidePools([pool({ demand: 1 })], () => 0, NOW)[0]!.start).toBe(0);
  });

  it('the first pool takes the last free slot; the next gets none', () => {
    const decisions = decidePools([pool(), pool({ profileName: 'lint' })], (p) => (p === 'global' ? 7 : 0), NOW);
    expect(decisions.map((d) => d.start)).toEqual([1, 0]);
  });
});

describe('the schedule, in its time zone', () => {
  const warm = (schedule: Warm['schedule']): Warm => ({
    min: 3,
    idleTimeout: 30 * MIN,
    ...(schedule ? { schedule } : {}),
  });
  const weekdays = ['mon', 'tue', 'wed', 'thu', 'fri'] as Array<'mon' | 'tue' | 'wed' | 'thu' | 'fri'>;

  it('reads the wall clock of the zone, daylight saving included', () => {
    expect(wallClock('Europe/Berlin', Date.UTC(2026, 6, 6, 6, 30))).toEqual({ day: 'mon', minute: 8 * 60 + 30 });
    expect(wallClock('Europe/Berlin', Date.UTC(2026, 0, 5, 6, 30))).toEqual({ day: 'mon', minute: 7 * 60 + 30 });
    expect(wallClock('Asia/Tokyo', Date.UTC(2026, 0, 4, 23, 0))).toEqual({ day: 'mon', minute: 8 * 60 });
  });

  it('keeps min inside working hours and scales to zero at night and at the weekend', () => {
    const w = warm({ timeZone: 'Europe/Berlin', days: weekdays, from: '08:00', to: '19:00' });
    expect(poolTarget(w, Date.UTC(2026, 10, 30, 9, 0))).toBe(3); // Monday 10:00 in Berlin
    expect(poolTarget(w, Date.UTC(2026, 10, 30, 18, 0))).toBe(0); // Monday 19:00 in Berlin: the window has closed
    expect(poolTarget(w, Date.UTC(2026, 10, 30, 6, 59))).toBe(0); // Monday 07:59 in Berlin: not yet open
    expect(poolTarget(w, Date.UTC(2026, 10, 30, 7, 0))).toBe(3); // Monday 08:00 in Berlin: open
    expect(poolTarget(w, Date.UTC(2026, 10, 28, 10, 0))).toBe(0); // Saturday
  });

  it('a window across midnight belongs to the day it opens on', () => {
    const s = { timeZone: 'UTC', days: ['fri' as const], from: '22:00', to: '02:00' };
    expect(inWindow(s, Date.UTC(2026, 10, 27, 23, 0))).toBe(true); // Friday 23:00
    expect(inWindow(s, Date.UTC(2026, 10, 28, 1, 0))).toBe(true); // Saturday 01:00, still Friday's window
    expect(inWindow(s, Date.UTC(2026, 10, 28, 23, 0))).toBe(false); // Saturday 23:00
    expect(inWindow(s, Date.UTC(2026, 10, 27, 1, 0))).toBe(false); // Friday 01:00 belongs to Thursday's window
  });

  it('without a schedule the pool keeps min at any hour', () => {
    expect(poolTarget(warm(undefined), Date.UTC(2026, 10, 29, 3, 0))).toBe(3);
  });
});
