// Steps of GitHub's world for the bookkeeping properties: jobs queued with deliveries sent at once, late, twice or
// never; runners that connect, finish, or die before connecting, idle or mid-job; exits whose events are lost;
// cancellations; reconcile passes and clock jumps. `drain` is what GitHub and a patient operator do afterwards.
import fc from 'fast-check';
import { LABELS, REPO, type MemoryWorld } from './memory-world.js';

export type Step =
  | { kind: 'queue'; n: number; mode: 'now' | 'late' | 'twice' | 'lost' }
  | { kind: 'connect' | 'finish' | 'die'; pick: number; lostExit: boolean }
  | { kind: 'cancel'; pick: number }
  | { kind: 'reconcile' }
  | { kind: 'late' }
  | { kind: 'tick'; minutes: number };

export const step: fc.Arbitrary<Step> = fc.oneof(
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

export const pick = <T>(list: T[], n: number): T | undefined => (list.length ? list[n % list.length] : undefined);

export async function apply(w: MemoryWorld, s: Step): Promise<void> {
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
export async function drain(w: MemoryWorld, warm = 0): Promise<void> {
  w.github.flushLate();
  for (let round = 0; round < 60; round++) {
    for (const c of w.engine.running) w.github.connect(c.name);
    await w.settle();
    for (const c of w.engine.running) if (w.github.finish(c.name)) w.engine.exit(c.id);
    await w.settle();
    if (settled(w, warm)) return;
    // Once every live runner idles online with nothing to take, time passes: spares idle past bootTimeout go.
    const idleOnly = w.engine.running.every(
      (c) => w.github.byName(c.name)?.status === 'online' && !w.github.byName(c.name)?.busy,
    );
    if (idleOnly) w.clock.t += w.config.bootTimeout + 1;
    await w.reconciler.runOnce(); // the poll re-offers jobs given back

    await w.settle();
  }
}

/**
 * Every job completed and nothing left but `warm` idle warm runners, each with its container and its runner online at
 * GitHub, standing for no job.
 */
export function settled(w: MemoryWorld, warm = 0): boolean {
  const runners = w.controller.snapshot().runners;
  return (
    [...w.github.jobs.values()].every((j) => j.status === 'completed') &&
    runners.length === warm &&
    runners.every((r) => r.warm && r.containerId && !r.busy && r.claim === undefined) &&
    w.engine.containers.size === warm &&
    w.github.runners.size === warm &&
    [...w.github.runners.values()].every((r) => r.status === 'online' && !r.busy)
  );
}
