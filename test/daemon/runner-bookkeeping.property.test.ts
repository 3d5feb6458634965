// The runner book's transition function (runner-lifecycle.ts) against a model of GitHub's assignment (any idle runner
// whose labels cover a job takes the oldest queued one), for thousands of generated sequences: jobs queued with
// deliveries sent at once, late, twice or never; runners that die before connecting, idle after connecting, or
// mid-job; exits whose events are lost; cancellations; reconcile passes and clock jumps past bootTimeout; and the
// controller's own work (launches, cleanups, spare deletes) landing in random order. Nothing awaits: see
// lifecycle-world.ts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LABELS, LifecycleWorld, REPO } from '../support/lifecycle-world.js';
import { apply, drain, land, landings, pick, step } from '../support/lifecycle-steps.js';
import { propertyRuns } from '../support/property-runs.js';

describe('runner bookkeeping under GitHub assignment (property)', () => {
  it('after any sequence every queued job runs exactly once, the cap holds, and nothing is left', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(step, landings), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 4 }),
        (steps, cap) => {
          const w = new LifecycleWorld({ cap });
          for (const [s, picks] of steps) {
            apply(w, s);
            land(w, picks); // a random amount of progress between events: a random interleaving
          }
          drain(w);
          for (const job of w.github.jobs.values()) {
            expect(job.status, `job ${job.id}`).toBe('completed');
            expect(job.runs, `job ${job.id} runs`).toBe(job.cancelled ? 0 : 1);
          }
          expect(w.maxRunning).toBeLessThanOrEqual(cap);
          expect(w.containers.size).toBe(0);
          expect(w.github.runners.size).toBe(0);
          expect(w.book.views()).toEqual([]);
          expect(w.scheduler.queued).toBe(0);
        },
      ),
      { numRuns: propertyRuns(400) },
    );
  });

  it('without faults, a burst costs one JIT registration per job and no other write, at most `cap` containers at once', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.tuple(fc.nat(), landings), { maxLength: 200 }),
        (jobs, cap, order) => {
          const w = new LifecycleWorld({ cap });
          w.github.mode = () => 'twice'; // every delivery duplicated
          for (let i = 0; i < jobs; i++) w.github.queue(REPO, LABELS);
          w.settle();
          // Runners connect in a random order: each takes the oldest queued job, not the one it was made for.
          for (const [n, picks] of order) {
            const offline = w.running.filter((c) => w.github.byName(c.name)?.status === 'offline');
            const c = pick(offline, n);
            if (c) w.github.connect(c.name);
            const busy = pick(
              w.running.filter((x) => w.github.byName(x.name)?.busy),
              n >> 3,
            );
            if (busy && n % 2 === 0 && w.github.finish(busy.name)) w.exit(busy);
            land(w, picks);
          }
          drain(w);
          expect([...w.github.jobs.values()].every((j) => j.status === 'completed' && j.runs === 1)).toBe(true);
          expect(w.github.calls.filter((c) => c === 'POST jit')).toHaveLength(jobs);
          expect(w.github.calls.filter((c) => c === 'DELETE runner')).toHaveLength(0);
          expect(w.maxRunning).toBeLessThanOrEqual(cap);
        },
      ),
      { numRuns: propertyRuns(200) },
    );
  });

  // Swarm's container listing takes three calls, so a reconcile pass often acts on a picture of Docker older than the
  // controller's books: runners cleaned up or started meanwhile must cost no second registration.
  it('a burst with reconcile passes whose container listings answer late still costs one JIT registration per job', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 30 }),
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 6 }), landings), { maxLength: 200 }),
        (jobs, cap, order) => {
          const w = new LifecycleWorld({ cap });
          let pass: { listing: ReturnType<LifecycleWorld['beginReconcile']>; after: number } | undefined;
          w.github.mode = () => 'twice';
          for (let i = 0; i < jobs; i++) w.github.queue(REPO, LABELS);
          w.settle();
          for (const [n, late, picks] of order) {
            if (!pass && n % 3 === 0) pass = { listing: w.beginReconcile(), after: late };
            const offline = w.running.filter((c) => w.github.byName(c.name)?.status === 'offline');
            const c = pick(offline, n);
            if (c) w.github.connect(c.name);
            const busy = pick(
              w.running.filter((x) => w.github.byName(x.name)?.busy),
              n >> 3,
            );
            if (busy && n % 2 === 0 && w.github.finish(busy.name)) w.exit(busy);
            land(w, picks);
            if (pass && pass.after-- === 0) {
              w.finishReconcile(pass.listing);
              pass = undefined;
            }
          }
          if (pass) w.finishReconcile(pass.listing);
          drain(w);
          expect([...w.github.jobs.values()].every((j) => j.status === 'completed' && j.runs === 1)).toBe(true);
          expect(w.github.calls.filter((c) => c === 'POST jit')).toHaveLength(jobs);
          expect(w.github.calls.filter((c) => c === 'DELETE runner')).toHaveLength(0);
          expect(w.maxRunning).toBeLessThanOrEqual(cap);
        },
      ),
      { numRuns: propertyRuns(200) },
    );
  });
});
