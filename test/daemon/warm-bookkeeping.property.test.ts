// The claim bookkeeping with a warm pool, against the model of GitHub's assignment: idle warm runners hold no claim,
// a queued job stands on one instead of getting a runner made for it, and GitHub may hand any job to any idle runner
// whose labels cover it, warm or cold. For hundreds of generated sequences (deliveries late, twice or lost; runners
// dying before they connect, idle or mid-job; lost exit events; cancellations; clock jumps past idleTimeout), every
// job runs exactly once, the cap holds, and what is left is the pool, idle and listening.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LABELS, REPO, memoryWorld } from '../support/memory-world.js';
import { apply, drain, pick, settled, step } from '../support/assignment-steps.js';

const warmWorld = (cap: number, min: number) =>
  memoryWorld({
    cap,
    config: {
      profiles: {
        ci: {
          labels: LABELS,
          image: 'factory-test/runner:1',
          network: 'none',
          warm: { min, idleTimeout: '10m' },
        },
      },
    },
  });

describe('runner bookkeeping with a warm pool (property)', () => {
  it('after any sequence every job runs exactly once, the cap holds, and only the idle pool is left', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(step, fc.integer({ min: 0, max: 30 })), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 3 }),
        async (steps, cap, min) => {
          const w = await warmWorld(cap, min);
          try {
            await w.reconciler.runOnce(); // as the service does at start: this first fills the pool
            for (const [s, rounds] of steps) {
              await apply(w, s);
              await w.settle(rounds);
            }
            await drain(w, Math.min(min, cap));
            for (const job of w.github.jobs.values()) {
              expect(job.status, `job ${job.id}`).toBe('completed');
              expect(job.runs, `job ${job.id} runs`).toBe(job.cancelled ? 0 : 1);
            }
            expect(w.engine.maxRunning).toBeLessThanOrEqual(cap);
            expect(settled(w, Math.min(min, cap))).toBe(true);
            expect(w.controller.snapshot().queued).toEqual([]);
          } finally {
            await w.dispose();
          }
        },
      ),
      { numRuns: 100 },
    );
  }, 240_000);

  it('a burst through the pool registers no more runners than jobs + min, deletes none, and stays under the cap', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.nat(), { maxLength: 200 }),
        async (jobs, cap, min, order) => {
          const w = await warmWorld(cap, min);
          try {
            const pool = Math.min(min, cap);
            await w.reconciler.runOnce();
            await w.until('the pool listening', () => {
              for (const c of w.engine.running) w.github.connect(c.name);
              return [...w.github.runners.values()].filter((r) => r.status === 'online').length === pool;
            });
            w.github.mode = () => 'twice';
            for (let i = 0; i < jobs; i++) w.github.queue(REPO, LABELS);
            await w.settle();
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
            await drain(w, pool);
            expect([...w.github.jobs.values()].every((j) => j.status === 'completed' && j.runs === 1)).toBe(true);
            // The pool before the burst counts among its min: jobs + min registrations at most, the refill included.
            expect(w.github.calls.filter((c) => c === 'POST jit').length).toBeLessThanOrEqual(jobs + pool);
            expect(w.github.calls.filter((c) => c === 'DELETE runner')).toHaveLength(0);
            expect(w.engine.maxRunning).toBeLessThanOrEqual(cap);
            expect(settled(w, pool)).toBe(true);
          } finally {
            await w.dispose();
          }
        },
      ),
      { numRuns: 60 },
    );
  }, 240_000);
});
