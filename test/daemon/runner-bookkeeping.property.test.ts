// The scheduler and runner bookkeeping against a model of GitHub's assignment (any idle runner whose labels cover a
// job takes the oldest queued one), for hundreds of generated sequences: jobs queued with deliveries sent at once,
// late, twice or never; runners that die before connecting, idle after connecting, or mid-job; exits whose events
// are lost; cancellations; reconcile passes and clock jumps past bootTimeout; and random interleavings.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LABELS, REPO, memoryWorld, type MemoryWorld } from '../support/memory-world.js';

type Step =
  | { kind: 'queue'; n: number; mode: 'now' | 'late' | 'twice' | 'lost' }
  | { kind: 'connect' | 'finish' | 'die'; pick: number; lostExit: boolean }
  | { kind: 'cancel'; pick: number }
  | { kind: 'reconcile' }
  | { kind: 'late' }
  | { kind: 'tick'; minutes: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant('queue' as const),
      n: fc.integer({ min: 1, max: 4 }),
      mode: fc.constantFrom('now' as const, 'now' as const, 'late' as const, 'twice' as const, 'lost' as const),
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({
      kind: fc.constantFrom('connect' as const, 'finish' as const, 'die' as const),
      pick: fc.nat(),
      lostExit: fc.boolean(),
    }),
    weight: 6,
  },
  { arbitrary: fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('reconcile' as const) }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('late' as const) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('tick' as const), minutes: fc.integer({ min: 1, max: 8 }) }), weight: 1 },
);

const pick = <T>(list: T[], n: number): T | undefined => (list.length ? list[n % list.length] : undefined);

async function apply(w: MemoryWorld, s: Step): Promise<void> {
  const running = w.engine.running;
  switch (s.kind) {
    case 'queue': {
      w.github.mode = () => s.mode;
      for (let i = 0; i < s.n; i++) w.github.queue(REPO, LABELS);
      w.github.mode = () => 'now';
      return;
    }
    case 'connect': {
      const c = pick(
        running.filter((x) => w.github.byName(x.name)?.status === 'offline'),
        s.pick,
      );
      if (c) w.github.connect(c.name);
      return;
    }
    case 'finish': {
      const c = pick(
        running.filter((x) => w.github.byName(x.name)?.busy),
        s.pick,
      );
      if (!c) return;
      w.github.finish(c.name);
      w.engine.faults.exitEventsLost = s.lostExit;
      w.engine.exit(c.id);
      w.engine.faults.exitEventsLost = false;
      return;
    }
    case 'die': {
      // Before connecting, idle after connecting, or mid-job: whatever state the picked runner is in.
      const c = pick(running, s.pick);
      if (!c) return;
      w.engine.faults.exitEventsLost = s.lostExit;
      w.engine.exit(c.id);
      w.engine.faults.exitEventsLost = false;
      return;
    }
    case 'cancel': {
      const job = pick(
        [...w.github.jobs.values()].filter((j) => j.status === 'queued'),
        s.pick,
      );
      if (job) w.github.cancel(job.id);
      return;
    }
    case 'reconcile':
      return w.reconciler.runOnce();
    case 'late':
      return w.github.flushLate();
    case 'tick':
      w.clock.t += s.minutes * 60_000;
      return w.reconciler.runOnce();
  }
}

/** What GitHub and a patient operator do once the storm is over: runners connect and finish, the clock moves on. */
async function drain(w: MemoryWorld): Promise<void> {
  w.github.flushLate();
  for (let round = 0; round < 60; round++) {
    for (const c of w.engine.running) w.github.connect(c.name);
    await w.settle();
    for (const c of w.engine.running) if (w.github.finish(c.name)) w.engine.exit(c.id);
    await w.settle();
    const allDone = [...w.github.jobs.values()].every((j) => j.status === 'completed');
    if (
      allDone &&
      w.engine.containers.size === 0 &&
      w.github.runners.size === 0 &&
      w.controller.snapshot().runners.length === 0
    )
      return;
    // Once every live runner idles online with nothing to take, time passes: spares idle past bootTimeout go.
    const idleOnly = w.engine.running.every(
      (c) => w.github.byName(c.name)?.status === 'online' && !w.github.byName(c.name)?.busy,
    );
    if (idleOnly) w.clock.t += w.config.bootTimeout + 1;
    await w.reconciler.runOnce(); // the poll re-offers jobs given back

    await w.settle();
  }
}

describe('runner bookkeeping under GitHub assignment (property)', () => {
  it('after any sequence every queued job runs exactly once, the cap holds, and nothing is left', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(step, fc.integer({ min: 0, max: 30 })), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 4 }),
        async (steps, cap) => {
          const w = await memoryWorld({ cap });
          try {
            for (const [s, rounds] of steps) {
              await apply(w, s);
              await w.settle(rounds); // a random amount of progress between events: a random interleaving
            }
            await drain(w);
            const jobs = [...w.github.jobs.values()];
            for (const job of jobs) {
              expect(job.status, `job ${job.id}`).toBe('completed');
              expect(job.runs, `job ${job.id} runs`).toBe(job.cancelled ? 0 : 1);
            }
            expect(w.engine.maxRunning).toBeLessThanOrEqual(cap);
            expect(w.engine.containers.size).toBe(0);
            expect(w.github.runners.size).toBe(0);
            expect(w.controller.snapshot()).toMatchObject({ runners: [], queued: [] });
            expect(w.jobFolders()).toEqual([]);
          } finally {
            await w.dispose();
          }
        },
      ),
      { numRuns: 200 },
    );
  }, 240_000);

  it('without faults, a burst costs one JIT registration per job and no other write, at most `cap` containers at once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.nat(), { maxLength: 200 }),
        async (jobs, cap, order) => {
          const w = await memoryWorld({ cap });
          try {
            w.github.mode = () => 'twice'; // every delivery duplicated
            for (let i = 0; i < jobs; i++) w.github.queue(REPO, LABELS);
            await w.settle();
            // Runners connect in a random order: each takes the oldest queued job, not the one it was made for.
            for (const n of order) {
              const offline = w.engine.running.filter((c) => w.github.byName(c.name)?.status === 'offline');
              const c = pick(offline, n);
              if (c) w.github.connect(c.name);
              const busy = pick(
                w.engine.running.filter((x) => w.github.byName(x.name)?.busy),
                n >> 3,
              );
              if (busy && n % 2 === 0 && w.github.finish(busy.name)) w.engine.exit(busy.id);
              await w.settle(5);
            }
            await drain(w);
            expect([...w.github.jobs.values()].every((j) => j.status === 'completed' && j.runs === 1)).toBe(true);
            expect(w.github.calls.filter((c) => c === 'POST jit')).toHaveLength(jobs);
            expect(w.github.calls.filter((c) => c === 'DELETE runner')).toHaveLength(0);
            expect(w.engine.maxRunning).toBeLessThanOrEqual(cap);
          } finally {
            await w.dispose();
          }
        },
      ),
      { numRuns: 100 },
    );
  }, 240_000);
});
