// The steps of GitHub's and Docker's world (assignment-steps.ts's, the same generator) played against the runner
// book's transition function directly (lifecycle-world.ts), and `drain`: what GitHub and a patient operator do
// afterwards. Nothing here awaits: a sequence runs in well under a millisecond.
import fc from 'fast-check';
import type { Step } from './assignment-steps.js';
import { LABELS, REPO, type LifecycleWorld } from './lifecycle-world.js';

export { step } from './assignment-steps.js';

export const pick = <T>(list: T[], n: number): T | undefined => (list.length ? list[n % list.length] : undefined);

/** Which pending work lands between two steps, and in what order: a random interleaving. */
export const landings = fc.array(fc.nat(), { maxLength: 8 });

export function land(w: LifecycleWorld, picks: number[]): void {
  for (const n of picks) if (w.pending.length) w.land(n);
}

export function apply(w: LifecycleWorld, s: Step): void {
  const running = w.running;
  switch (s.kind) {
    case 'queue':
      w.github.mode = () => s.mode;
      for (let i = 0; i < s.n; i++) w.github.queue(REPO, LABELS);
      w.github.mode = () => 'now';
      return;
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
      return exit(w, c, s.lostExit);
    }
    case 'die': {
      // Before connecting, idle after connecting, or mid-job: whatever state the picked runner is in.
      const c = pick(running, s.pick);
      if (c) exit(w, c, s.lostExit);
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
      return w.reconcile();
    case 'late':
      return w.github.flushLate();
    case 'tick':
      w.t += s.minutes * 60_000;
      return w.reconcile();
  }
}

function exit(w: LifecycleWorld, c: LifecycleWorld['running'][number], lost: boolean): void {
  w.exitEventsLost = lost;
  w.exit(c);
  w.exitEventsLost = false;
}

/** What GitHub and a patient operator do once the storm is over: runners connect and finish, the clock moves on. */
export function drain(w: LifecycleWorld, warm = 0): void {
  w.github.flushLate();
  for (let round = 0; round < 60; round++) {
    w.settle();
    for (const c of w.running) w.github.connect(c.name);
    w.settle();
    for (const c of w.running) if (w.github.finish(c.name)) w.exit(c);
    w.settle();
    if (settled(w, warm)) return;
    // Once every live runner idles online with nothing to take, time passes: spares idle past bootTimeout go.
    const idleOnly = w.running.every(
      (c) => w.github.byName(c.name)?.status === 'online' && !w.github.byName(c.name)?.busy,
    );
    if (idleOnly) w.t += w.config.bootTimeout + 1;
    w.reconcile(); // the poll re-offers jobs given back
    w.settle();
  }
}

/**
 * Every job completed and nothing left but `warm` idle warm runners, each with its container and its runner online at
 * GitHub, standing for no job.
 */
export function settled(w: LifecycleWorld, warm = 0): boolean {
  const runners = w.book.views();
  return (
    [...w.github.jobs.values()].every((j) => j.status === 'completed') &&
    runners.length === warm &&
    runners.every((r) => r.warm && r.containerId && !r.busy && r.claim === undefined) &&
    w.containers.size === warm &&
    w.github.runners.size === warm &&
    [...w.github.runners.values()].every((r) => r.status === 'online' && !r.busy) &&
    w.pending.length === 0
  );
}
