// The controller as the service wires it (memory-world.ts: the in-memory engine and GitHub model, real job folders),
// for a few dozen generated sequences: the check that it carries out the transition function's effects and feeds
// their outcomes back as the properties of runner-lifecycle.ts assume (runner-bookkeeping.property.test.ts explores
// the sequences themselves, thousands at a time, against the function directly).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { apply, drain, step } from '../support/assignment-steps.js';
import { memoryWorld } from '../support/memory-world.js';
import { propertyRuns } from '../support/property-runs.js';

describe('the controller carries out the runner lifecycle (property)', () => {
  it('after any sequence every queued job runs exactly once, the cap holds, and nothing is left, job folders included', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(step, fc.integer({ min: 0, max: 30 })), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 4 }),
        async (steps, cap) => {
          const w = await memoryWorld({ cap });
          try {
            for (const [s, rounds] of steps) {
              await apply(w, s);
              await w.settle(rounds);
            }
            await drain(w);
            for (const job of w.github.jobs.values()) {
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
      { numRuns: propertyRuns(25) },
    );
  }, 120_000);
});
