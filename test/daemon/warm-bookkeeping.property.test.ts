// The claim bookkeeping with a warm pool, run through the runner book's transition function (runner-lifecycle.ts)
// against the model of GitHub's assignment: idle warm runners hold no claim, a queued job stands on one instead of
// getting a runner made for it, and GitHub may hand any job to any idle runner whose labels cover it, warm or cold.
// For thousands of generated sequences (deliveries late, twice or lost; runners dying before they connect, idle or
// mid-job; lost exit events; cancellations; clock jumps past idleTimeout; the controller's work landing in random
// order), every job runs exactly once, the cap holds, and what is left is the pool, idle and listening. For a lane
// profile with a login, the login is taken only at a job's release: no idle runner ever holds it, one job at a time
// does, and the pool, idle, leaves it free.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LABELS, LifecycleWorld, REPO } from '../support/lifecycle-world.js';
import { apply, drain, land, landings, pick, settled, step } from '../support/lifecycle-steps.js';
import { propertyRuns } from '../support/property-runs.js';

describe('runner bookkeeping with a warm pool (property)', () => {
  it('after any sequence every job runs exactly once, the cap holds, and only the idle pool is left', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(step, landings), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 3 }),
        (steps, cap, min) => {
          const w = new LifecycleWorld({ cap, warm: min });
          w.reconcile(); // as the service does at start: this first fills the pool
          for (const [s, picks] of steps) {
            apply(w, s);
            land(w, picks);
          }
          drain(w, Math.min(min, cap));
          for (const job of w.github.jobs.values()) {
            expect(job.status, `job ${job.id}`).toBe('completed');
            expect(job.runs, `job ${job.id} runs`).toBe(job.cancelled ? 0 : 1);
          }
          expect(w.maxRunning).toBeLessThanOrEqual(cap);
          expect(settled(w, Math.min(min, cap))).toBe(true);
          expect(w.scheduler.queued).toBe(0);
        },
      ),
      { numRuns: propertyRuns(200) },
    );
  });

  it('a burst through the pool registers no more runners than jobs + min, deletes none, and stays under the cap', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.tuple(fc.nat(), landings), { maxLength: 200 }),
        (jobs, cap, min, order) => {
          const w = new LifecycleWorld({ cap, warm: min });
          const pool = Math.min(min, cap);
          w.reconcile();
          for (let i = 0; i < 20 && w.github.runners.size + w.pending.length > 0; i++) {
            w.settle();
            for (const c of w.running) w.github.connect(c.name);
          }
          expect([...w.github.runners.values()].filter((r) => r.status === 'online')).toHaveLength(pool);
          w.github.mode = () => 'twice';
          for (let i = 0; i < jobs; i++) w.github.queue(REPO, LABELS);
          w.settle();
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
          drain(w, pool);
          expect([...w.github.jobs.values()].every((j) => j.status === 'completed' && j.runs === 1)).toBe(true);
          // The pool before the burst counts among its min: jobs + min registrations at most, the refill included.
          expect(w.github.calls.filter((c) => c === 'POST jit').length).toBeLessThanOrEqual(jobs + pool);
          expect(w.github.calls.filter((c) => c === 'DELETE runner')).toHaveLength(0);
          expect(w.maxRunning).toBeLessThanOrEqual(cap);
          expect(settled(w, pool)).toBe(true);
        },
      ),
      { numRuns: propertyRuns(120) },
    );
  });

  it('a lane pool: the login is held only by a released job, one at a time, and is free once only the idle pool is left', () => {
    let released = 0;
    fc.assert(
      fc.property(
        fc.array(fc.tuple(step, landings), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 3 }),
        (steps, cap, min) => {
          const w = new LifecycleWorld({ cap, warm: min, login: true });
          w.reconcile();
          for (const [s, picks] of steps) {
            apply(w, s);
            land(w, picks);
          }
          drain(w, Math.min(min, cap));
          for (const job of w.github.jobs.values()) {
            expect(job.status, `job ${job.id}`).toBe('completed');
            expect(job.runs, `job ${job.id} runs`).toBe(job.cancelled ? 0 : 1);
          }
          expect(w.idleLoginHolders).toBe(0);
          expect(w.maxLoginHolders).toBeLessThanOrEqual(1);
          released += w.maxLoginHolders;
          expect(w.maxRunning).toBeLessThanOrEqual(cap);
          expect(settled(w, Math.min(min, cap))).toBe(true);
          // The idle pool holds nothing of the login: a `factory lane run` would take it now.
          expect(w.loginHolders.size).toBe(0);
        },
      ),
      { numRuns: propertyRuns(200) },
    );
    expect(released).toBeGreaterThan(0); // the sequences do reach releases
  });
});
