// The scheduler and runner bookkeeping against a model of GitHub's assignment (any idle runner whose labels cover a
// job takes the oldest queued one), for hundreds of generated sequences: jobs queued with deliveries sent at once,
// late, twice or never; runners that die before connecting, idle after connecting, or mid-job; exits whose events
// are lost; cancellations; reconcile passes and clock jumps past bootTimeout; and random interleavings.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LABELS, REPO, memoryWorld } from '../support/memory-world.js';
import { apply, drain, pick, step } from '../support/assignment-steps.js';

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

  // Swarm's container listing takes three calls, so a reconcile pass often acts on a picture of Docker older than the
  // controller's books: runners cleaned up or started meanwhile must cost no second registration.
  it('a burst with reconcile passes whose container listings answer late still costs one JIT registration per job', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 30 }),
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 6 })), { maxLength: 200 }),
        async (jobs, cap, order) => {
          const w = await memoryWorld({ cap });
          let pass: { answer: () => void; after: number; done: Promise<void> } | undefined;
          const answer = async () => {
            pass!.answer();
            w.engine.faults.holdList = undefined;
            await pass!.done;
            pass = undefined;
          };
          try {
            w.github.mode = () => 'twice';
            for (let i = 0; i < jobs; i++) w.github.queue(REPO, LABELS);
            await w.settle();
            for (const [n, late] of order) {
              if (!pass && n % 3 === 0) {
                let release!: () => void;
                w.engine.faults.holdList = new Promise<void>((r) => (release = r));
                pass = { answer: release, after: late, done: w.reconciler.runOnce() };
              }
              const offline = w.engine.running.filter((c) => w.github.byName(c.name)?.status === 'offline');
              const c = pick(offline, n);
              if (c) w.github.connect(c.name);
              const busy = pick(
                w.engine.running.filter((x) => w.github.byName(x.name)?.busy),
                n >> 3,
              );
              if (busy && n % 2 === 0 && w.github.finish(busy.name)) w.engine.exit(busy.id);
              await w.settle(5);
              if (pass && pass.after-- === 0) await answer();
            }
            if (pass) await answer();
            await drain(w);
            expect([...w.github.jobs.values()].every((j) => j.status === 'completed' && j.runs === 1)).toBe(true);
            expect(w.github.calls.filter((c) => c === 'POST jit')).toHaveLength(jobs);
            expect(w.github.calls.filter((c) => c === 'DELETE runner')).toHaveLength(0);
            expect(w.engine.maxRunning).toBeLessThanOrEqual(cap);
          } finally {
            if (pass) await answer();
            await w.dispose();
          }
        },
      ),
      { numRuns: 100 },
    );
  }, 240_000);
});
