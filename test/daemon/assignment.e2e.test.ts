// End to end on the real engine, with the stand-in assigning jobs as GitHub does (any idle runner whose labels cover a
// job takes the oldest queued one): a burst drains under its cap with nothing left, and a runner that dies before
// it connects still gets its job run.
import { randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { LABEL } from '../../controller/model/runner.js';
import { CI_LABELS, docker, startHarness, waitFor, type Harness } from '../support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const jitCalls = (harness: Harness) => harness.github.exchanges.filter((x) => x.path.endsWith('/generate-jitconfig') && x.status === 201);
const jobFolders = (harness: Harness) => {
  try {
    return readdirSync(join(harness.config.stateDir, 'jobs'));
  } catch {
    return [];
  }
};

/** The most job containers of this repo running at once, as Docker's own start and die events show them. */
async function watchConcurrency(repo: string) {
  const stream = (await docker.getEvents({ filters: JSON.stringify({ type: ['container'], event: ['start', 'die'], label: [`${LABEL.repo}=${repo}`] }) })) as NodeJS.ReadableStream & { destroy(): void };
  const running = new Set<string>();
  let max = 0;
  let buffered = '';
  stream.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const event = JSON.parse(buffered.slice(0, nl)) as { status?: string; Action?: string; id: string };
      buffered = buffered.slice(nl + 1);
      if ((event.Action ?? event.status) === 'start') running.add(event.id);
      else running.delete(event.id);
      max = Math.max(max, running.size);
    }
  });
  return { max: () => max, stop: () => stream.destroy() };
}

// The reconciler runs every second, so its passes race the launches (the orphan sweep and container sync that
// once cleaned up runners mid-launch).
it('a burst of 100 jobs with duplicate deliveries drains under a cap of 8, and leaves no container, runner or folder', async () => {
  h = await startHarness({ jobSeconds: 1, config: { maxConcurrent: 8, reconcileInterval: '1s' }, repoMaxConcurrent: 8 });
  const watch = await watchConcurrency(h.repo);
  try {
    const ids: number[] = [];
    for (let i = 0; i < 100; i++) ids.push(await h.github.queueJob(h.repo, CI_LABELS, { announce: false }));
    // One delivery per job, 30 replays of a delivery already sent, 20 new deliveries for jobs already announced.
    const planned = ids.map((id) => ({ id, delivery: randomUUID() }));
    const extra = [...Array.from({ length: 30 }, (_, i) => planned[(i * 7) % 100]!), ...Array.from({ length: 20 }, (_, i) => ({ id: ids[(i * 13 + 5) % 100]!, delivery: randomUUID() }))];
    await Promise.all([...planned, ...extra].map((d) => h!.github.deliver(h!.github.jobs.get(d.id)!, 'queued', d.delivery)));

    await waitFor('every job to complete and every runner to be cleaned up', async () =>
      ids.every((id) => h!.github.jobs.get(id)?.status === 'completed') && h!.service.controller.snapshot().runners.length === 0 && (await h!.containers()).length === 0,
    240_000);

    expect(watch.max()).toBeGreaterThan(1);
    expect(watch.max()).toBeLessThanOrEqual(8);
    expect(jitCalls(h)).toHaveLength(100); // one runner per job, none lost, none doubled
    expect(h.github.runners.size).toBe(0);
    expect(jobFolders(h)).toEqual([]);
  } finally {
    watch.stop();
  }
}, 300_000);

it('a runner that dies before it connects puts its job back, and the job runs on a new runner', async () => {
  let first = true;
  h = await startHarness({
    jobSeconds: 1,
    config: { bootTimeout: '3s', reconcileInterval: '2s' },
    // The first runner's process exits at once, before it ever reaches GitHub (an image fault, an OOM at boot).
    wrapEngine: (engine) => ({
      ...engine,
      run: (spec) => {
        const dies = first;
        first = false;
        return engine.run(dies ? { ...spec, Cmd: ['/bin/sh', '-c', 'echo dying before connecting; exit 3'] } : spec);
      },
    }),
  });
  const jobId = await h.github.queueJob(h.repo, CI_LABELS);

  await waitFor('the job to run on a second runner', async () =>
    h!.github.jobs.get(jobId)?.status === 'completed' && h!.service.controller.snapshot().runners.length === 0 && (await h!.containers()).length === 0,
  30_000);
  expect(jitCalls(h)).toHaveLength(2);
  expect(h.github.runners.size).toBe(0);
  expect(jobFolders(h)).toEqual([]);
}, 60_000);
