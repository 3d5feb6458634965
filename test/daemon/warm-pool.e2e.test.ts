// Warm pools on the real Docker engine, against the stand-in GitHub that assigns as GitHub does (an idle runner whose
// labels cover a queued job takes it at once): the pool fills, a job is taken warm and replaced at once, idle runners
// are recycled, a live config change grows and shrinks the pool (never deleting a runner that took a job: GitHub's
// 422), a restarted controller adopts the pool, and a burst through a pool never breaches the cap.
import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../../controller/config/config.js';
import { renderStatus } from '../../controller/status/status-table.js';
import { CI_LABELS, docker, startHarness, waitFor, type Harness } from '../support/harness.js';
import { watchConcurrency } from '../support/container-concurrency.js';

const MINUTE = 60_000;
let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const jitCalls = (x: Harness) => x.github.exchanges.filter((e) => e.path.endsWith('/generate-jitconfig')).length;
const warmRunners = (x: Harness) => x.service.controller.snapshot().runners.filter((r) => r.warm);
/** Runners online at the stand-in and not busy: what GitHub would hand a queued job at once. */
const listening = (x: Harness) =>
  [...x.github.runners.values()].filter((r) => r.repo === x.repo && r.status === 'online' && !r.busy);
const pool = (x: Harness) => x.service.controller.snapshot().pools[0]!;
const withWarm = (config: Config, warm: Config['profiles'][string]['warm']): Config => ({
  ...config,
  profiles: { ...config.profiles, ci: { ...config.profiles.ci!, ...(warm ? { warm } : { warm: undefined }) } },
});
async function running(x: Harness): Promise<number> {
  return (await x.containers(false)).length;
}

describe('a warm pool', () => {
  it('fills to min with listening runners; a job is taken warm, replaced at once, and counted as a warm hit', async () => {
    h = await startHarness({ profile: { warm: { min: 2, idleTimeout: '10m' } }, jobSeconds: 1 });
    const x = h;
    // A runner may connect before `docker run` has answered the controller: it counts as starting until then.
    await waitFor('two warm runners listening', () => listening(x).length === 2 && pool(x).idle === 2, 30_000);
    expect(jitCalls(x)).toBe(2);
    expect(pool(x)).toMatchObject({ target: 2, idle: 2, starting: 0 });
    const warmNames = listening(x).map((r) => r.name);

    const jobId = await x.github.queueJob(x.repo, CI_LABELS);
    const job = x.github.jobs.get(jobId)!;
    // GitHub gave it to a runner that was already listening: no runner was registered for it.
    expect(warmNames).toContain(job.runnerName);
    expect(job.startedAt! - job.queuedAt).toBeLessThan(1_000);
    await waitFor('the replacement listening beside the busy one', () => listening(x).length === 2, 30_000);
    expect(jitCalls(x)).toBe(3);
    await waitFor(
      'the job completed and its runner cleaned up',
      () => job.status === 'completed' && x.stages.some((s) => s.jobId === jobId && s.stage === 'cleaned'),
    );
    expect((await x.containers()).map((c) => c.Names[0]!.slice(1))).not.toContain(job.runnerName);
    expect(x.stages.filter((s) => s.jobId === jobId).map((s) => s.stage)).toEqual([
      'queued',
      'taken',
      'in_progress',
      'released',
      'completed',
      'cleaned',
    ]);
    await waitFor('the pool back to two idle runners', () => pool(x).idle === 2);
    const metrics = await x.service.metrics.text();
    expect(metrics).toMatch(/factory_job_starts_total\{repo="[^"]+",profile="ci",start="warm"\} 1/);
    expect(metrics).toMatch(/factory_queued_to_in_progress_seconds_count\{repo="[^"]+",profile="ci",start="warm"\} 1/);
    expect(metrics).toMatch(/factory_warm_pool_runners\{repo="[^"]+",profile="ci",state="idle"\} 2/);
    const status = await (await fetch(`${x.service.statusUrl}/status`)).json();
    expect(status.pools).toEqual([{ repo: x.repo, profile: 'ci', target: 2, idle: 2, starting: 0, live: 2 }]);
    const printed = renderStatus(status, x.service.statusUrl).split('\n');
    const heading = printed.indexOf('WARM POOLS');
    expect(printed[heading + 1]).toMatch(/^REPO\s+PROFILE\s+SIZE NOW\s+IDLE\s+STARTING\s+RUNNERS$/);
    expect(printed[heading + 2]).toMatch(new RegExp(`^${x.repo}\\s+ci\\s+2\\s+2\\s+0\\s+2$`));
  }, 90_000);

  it('recycles an idle runner after idleTimeout: fresh container, fresh JIT runner, the old one deleted', async () => {
    let offset = 0;
    h = await startHarness({ profile: { warm: { min: 1, idleTimeout: '5m' } }, now: () => Date.now() + offset });
    const x = h;
    await waitFor('a warm runner listening', () => listening(x).length === 1, 30_000);
    const [first] = warmRunners(x);
    offset = 6 * MINUTE;
    await waitFor(
      'a fresh runner listening and the old one gone',
      async () =>
        listening(x).length === 1 &&
        listening(x)[0]!.name !== first!.identity.runnerName &&
        !(await x.containers()).some((c) => c.Id === first!.containerId),
      60_000,
    );
    expect(jitCalls(x)).toBe(2);
    expect(x.github.exchanges.filter((e) => e.method === 'DELETE' && e.status === 204)).toHaveLength(1);
    expect([...x.github.runners.values()].filter((r) => r.repo === x.repo)).toHaveLength(1);
  }, 90_000);

  it('follows its schedule: scales to zero when the window closes and fills again when it opens', async () => {
    let offset = 0;
    const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);
    // A window of two hours around now, in UTC (from > to when it crosses midnight, which the schedule allows).
    const schedule = { timeZone: 'UTC', from: hhmm(Date.now() - 60 * MINUTE), to: hhmm(Date.now() + 60 * MINUTE) };
    h = await startHarness({
      profile: { warm: { min: 2, idleTimeout: '1d', schedule } },
      now: () => Date.now() + offset,
    });
    const x = h;
    await waitFor('two warm runners listening', () => listening(x).length === 2, 30_000);
    offset = 3 * 60 * MINUTE; // the clock past the window
    await waitFor('the pool at zero, its runners deleted', async () => (await x.containers()).length === 0, 30_000);
    expect(pool(x)).toMatchObject({ target: 0, idle: 0, starting: 0 });
    expect([...x.github.runners.values()].filter((r) => r.repo === x.repo)).toEqual([]);
    offset = 0;
    await waitFor('the pool filled again', () => listening(x).length === 2, 30_000);
    expect(jitCalls(x)).toBe(4);
  }, 90_000);

  it('grows and shrinks with a live config change; a runner that took a job meanwhile is left to run it (422)', async () => {
    h = await startHarness({ profile: { warm: { min: 1, idleTimeout: '10m' } }, jobSeconds: 2 });
    const x = h;
    await waitFor('one warm runner listening', () => listening(x).length === 1, 30_000);
    expect(x.service.applyConfig(withWarm(x.config, { min: 3, idleTimeout: 10 * MINUTE }))).toEqual([]);
    await waitFor('three warm runners listening', () => listening(x).length === 3, 30_000);

    // One of them takes a job whose deliveries are lost: the controller still thinks it idle when the pool shrinks.
    x.github.loseDelivery = () => true;
    const jobId = await x.github.queueJob(x.repo, CI_LABELS);
    const taker = x.github.jobs.get(jobId)!.runnerName!;
    x.github.loseDelivery = () => false;
    expect(x.service.applyConfig(withWarm(x.config, undefined))).toEqual([]);

    await waitFor('the idle ones removed', async () => listening(x).length === 0 && (await running(x)) === 1, 30_000);
    const deletes = x.github.exchanges.filter((e) => e.method === 'DELETE');
    expect(deletes.filter((e) => e.status === 204)).toHaveLength(2);
    expect(deletes.filter((e) => e.status === 422)).toHaveLength(1);
    // It ran its job to the end, attributed to it from GitHub's completed delivery, and then it was cleaned up.
    await waitFor(
      'the job completed and nothing left',
      async () =>
        x.github.jobs.get(jobId)!.status === 'completed' &&
        (await x.containers()).length === 0 &&
        x.service.controller.snapshot().runners.length === 0,
      30_000,
    );
    expect(taker).toMatch(/-0-[0-9a-f]{6}$/);
    expect(x.service.controller.snapshot().runners).toEqual([]);
    expect([...x.github.runners.values()].filter((r) => r.repo === x.repo)).toEqual([]);
  }, 120_000);

  it('survives a controller restart: the warm containers are adopted, no runner is registered again', async () => {
    h = await startHarness({ profile: { warm: { min: 2, idleTimeout: '10m' } } });
    const x = h;
    await waitFor('two warm runners listening', () => listening(x).length === 2, 30_000);
    await waitFor('Docker listing both running', async () => (await x.containers(false)).length === 2);
    const before = (await x.containers(false)).map((c) => c.Id).sort();
    await x.restart();
    expect(
      warmRunners(x)
        .map((r) => r.containerId)
        .sort(),
    ).toEqual(before);
    expect(pool(x)).toMatchObject({ target: 2, idle: 2 });
    // Give the pool a few ticks: it must not top up what it adopted.
    await new Promise((r) => setTimeout(r, 2_500));
    expect(jitCalls(x)).toBe(2);
    const jobId = await x.github.queueJob(x.repo, CI_LABELS);
    expect(before.length).toBe(2);
    await waitFor('the job ran on an adopted runner', () => x.github.jobs.get(jobId)!.status === 'completed', 30_000);
    expect(x.github.jobs.get(jobId)!.runnerName).toMatch(/-0-[0-9a-f]{6}$/);
  }, 90_000);

  it('a burst larger than the pool falls back to cold starts, never above the cap, with no runner more than jobs + min', async () => {
    h = await startHarness({
      profile: { warm: { min: 2, idleTimeout: '10m' } },
      config: { maxConcurrent: 4 },
      repoMaxConcurrent: 4,
      jobSeconds: 1,
    });
    const x = h;
    await waitFor('two warm runners listening', () => listening(x).length === 2, 30_000);
    const concurrency = await watchConcurrency(docker, `factory.repo=${x.repo}`);
    try {
      const jobs = 12;
      const ids = await Promise.all(Array.from({ length: jobs }, () => x.github.queueJob(x.repo, CI_LABELS)));
      await waitFor(
        'every job completed',
        () => ids.every((id) => x.github.jobs.get(id)!.status === 'completed'),
        90_000,
      );
      await waitFor('the pool refilled', () => listening(x).length === 2, 30_000);
      expect(concurrency.max()).toBeLessThanOrEqual(4);
      expect(jitCalls(x)).toBeLessThanOrEqual(2 + jobs + 2);
      const runnersOf = new Map<string, number>();
      for (const id of ids)
        runnersOf.set(x.github.jobs.get(id)!.runnerName!, (runnersOf.get(x.github.jobs.get(id)!.runnerName!) ?? 0) + 1);
      expect([...runnersOf.values()].every((n) => n === 1)).toBe(true);
      await waitFor('only the pool left', async () => (await x.containers()).length === 2, 30_000);
    } finally {
      concurrency.stop();
    }
  }, 150_000);
});
