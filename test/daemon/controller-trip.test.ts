// A trip reads top-down (docs/architecture.md): a delivery enters controller.ts once, and the parts it calls down
// into come back only by returning, never by calling the controller again. Every Controller method is watched for
// calls from another file while one job runs its whole life in memory.
import { expect, it } from 'vitest';
import { Controller } from '../../controller/daemon/controller.js';
import { LABELS, memoryWorld, REPO } from '../support/memory-world.js';

/** Records each call of a Controller method made from outside controller.ts, until `restore` puts them back. */
function watchEntries(): { entries: string[]; restore: () => void } {
  const entries: string[] = [];
  const proto = Controller.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  const originals = new Map<string, (...a: unknown[]) => unknown>();
  for (const name of Object.getOwnPropertyNames(proto)) {
    const value = Object.getOwnPropertyDescriptor(proto, name)!.value as unknown;
    if (name === 'constructor' || typeof value !== 'function') continue;
    const original = value as (...a: unknown[]) => unknown;
    originals.set(name, original);
    proto[name] = function (this: unknown, ...args: unknown[]) {
      const caller = (new Error().stack ?? '').split('\n')[2] ?? '';
      if (!caller.includes('controller/daemon/controller.ts')) entries.push(name);
      return original.apply(this, args);
    };
  }
  return { entries, restore: () => originals.forEach((original, name) => (proto[name] = original)) };
}

it("one job's life enters controller.ts once per delivery and never from the parts it calls", async () => {
  const world = await memoryWorld();
  const watch = watchEntries();
  try {
    const job = world.github.queue(REPO, LABELS);
    for (let i = 0; i < 10 && world.github.jobs.get(job)?.status !== 'completed'; i++) {
      await world.settle();
      for (const c of world.engine.running) world.github.connect(c.name);
      await world.settle();
      for (const c of world.engine.running) if (world.github.finish(c.name)) world.engine.exit(c.id);
    }
    await world.until('the container and runner gone', () => world.engine.containers.size === 0);
    expect(world.github.runners.size).toBe(0);
    // queued, in_progress, completed: the container's exit and the cleanup ride on the controller's own calls.
    expect(watch.entries).toEqual(['handleJob', 'handleJob', 'handleJob']);
  } finally {
    watch.restore();
    await world.dispose();
  }
});
