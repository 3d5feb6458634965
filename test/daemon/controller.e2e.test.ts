// The controller end to end on the local engine: the loopback GitHub stand-in, the real Docker engine, the stand-in
// runner image. The core cases both backends must pass are in backends.e2e.test.ts.
import { afterEach, describe, expect, it } from 'vitest';
import { runnerName, runnerPrefix } from '../../controller/daemon/runner-spec.js';
import { CI_LABELS, startHarness, waitFor, type Harness } from '../support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const jitCalls = (harness: Harness) => harness.github.exchanges.filter((x) => x.path.endsWith('/generate-jitconfig'));
const jobDone = (harness: Harness, jobId: number) => () =>
  harness.github.jobs.get(jobId)?.status === 'completed' && harness.service.controller.snapshot().runners.length === 0;

describe('controller end to end', () => {
  it('ignores jobs of unconfigured repos and jobs whose labels no profile provides', async () => {
    h = await startHarness();
    await h.github.queueJob('someone-else/repo', CI_LABELS);
    await h.github.queueJob(h.repo, ['self-hosted', 'gpu']);
    await h.github.queueJob(h.repo, ['ubuntu-latest']);
    await h.service.reconciler.runOnce();

    expect(jitCalls(h)).toHaveLength(0);
    expect(await h.containers()).toHaveLength(0);
  });

  it('holds jobs over the repo cap in FIFO order and starts each as a slot frees', async () => {
    h = await startHarness({ jobSeconds: 1, repoMaxConcurrent: 1 });
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) ids.push(await h.github.queueJob(h.repo, CI_LABELS));
    let maxRunning = 0;
    await waitFor(
      'all three jobs',
      async () => {
        maxRunning = Math.max(maxRunning, (await h!.containers(false)).length);
        return (
          ids.every((id) => h!.github.jobs.get(id)?.status === 'completed') &&
          h!.service.controller.snapshot().runners.length === 0
        );
      },
      40_000,
    );

    expect(maxRunning).toBe(1);
    const started = h.stages.filter((s) => s.stage === 'container-started').map((s) => s.jobId);
    expect(started).toEqual(ids);
  });

  it('removes a runner that never gets a job within bootTimeout, container and registration both', async () => {
    h = await startHarness({ config: { bootTimeout: '1s' } });
    const jobId = await h.github.queueJob(h.repo, CI_LABELS);
    // Another runner "takes" the job first, so ours comes online and idles.
    h.github.jobs.get(jobId)!.status = 'in_progress';
    await waitFor('the idle runner container', async () => (await h!.containers(false)).length === 1);
    await new Promise((r) => setTimeout(r, 1_100));
    await h.service.reconciler.runOnce();

    await waitFor(
      'the idle runner to be removed',
      async () => (await h!.containers()).length === 0 && h!.service.controller.snapshot().runners.length === 0,
    );
    expect(h.github.runners.size).toBe(0);
  });

  it('a job cancelled while queued removes the idle spare runner started for it', async () => {
    h = await startHarness();
    const jobId = await h.github.queueJob(h.repo, ['self-hosted', 'factory', 'ci']);
    h.github.jobs.get(jobId)!.labels = ['no-such-label']; // keep our runner from taking it before the cancel
    await waitFor('the runner container', async () => (await h!.containers(false)).length === 1);
    h.github.jobs.get(jobId)!.labels = CI_LABELS;
    await h.github.cancelJob(jobId);

    await waitFor(
      'the spare to be removed',
      async () => (await h!.containers()).length === 0 && h!.service.controller.snapshot().runners.length === 0,
    );
    expect(h.github.runners.size).toBe(0);
  });

  it("deletes its own offline factory runners that have no container, and no one else's", async () => {
    h = await startHarness();
    const register = async (name: string) => {
      const res = await fetch(`${h!.github.url}/repos/${h!.repo}/actions/runners/generate-jitconfig`, {
        method: 'POST',
        headers: { authorization: 'token x', 'content-type': 'application/json' },
        body: JSON.stringify({ name, runner_group_id: 1, labels: CI_LABELS }),
      });
      return ((await res.json()) as { runner: { id: number } }).runner.id;
    };
    const orphan = await register(runnerName(h.repo, 1, h.config.instance, 'abcdef'));
    const defaultInstances = await register(runnerName(h.repo, 2, 'default', 'abcdef'));
    const otherInstances = await register(runnerName(h.repo, 3, 'staging', 'abcdef'));
    // An instance whose name starts with ours and a hyphen: `factory.<ours>-` is a prefix of its runner names.
    const longerInstance = await register(runnerName(h.repo, 4, `${h.config.instance}-b`, 'abcdef'));
    const foreign = await register('someone-elses-runner');

    await h.service.reconciler.runOnce();

    expect(h.github.runners.has(orphan)).toBe(false);
    expect(runnerName(h.repo, 4, `${h.config.instance}-b`, 'abcdef').startsWith(runnerPrefix(h.config.instance))).toBe(
      true,
    );
    expect([defaultInstances, otherInstances, longerInstance, foreign].map((id) => h!.github.runners.has(id))).toEqual([
      true,
      true,
      true,
      true,
    ]);
  });

  it('fails a job whose image is missing with a clear error and leaves no runner behind', async () => {
    h = await startHarness({ profile: { image: 'factory-test/does-not-exist:1' } });
    await h.github.queueJob(h.repo, CI_LABELS);

    await waitFor('the failure', () => h!.stages.some((s) => s.stage === 'failed'));
    expect(h.service.controller.snapshot().lastError).toMatch(
      /image factory-test\/does-not-exist:1 not found on this host \(profile ci\)/,
    );
    await waitFor('the runner to be deregistered', () => h!.github.runners.size === 0);
    expect(await h.containers()).toHaveLength(0);
  });
});

describe('controller under GitHub faults', () => {
  it('retries the JIT call after a 502 and still runs the job', async () => {
    h = await startHarness();
    h.github.failNext('POST', /generate-jitconfig$/, 502, { times: 2 });
    const jobId = await h.github.queueJob(h.repo, CI_LABELS);

    await waitFor('the job to finish', jobDone(h, jobId));
    expect(jitCalls(h).map((x) => x.status)).toEqual([502, 502, 201]);
  });

  it('backs off on a primary rate limit until x-ratelimit-reset and then proceeds', async () => {
    h = await startHarness();
    const reset = String(Math.floor(Date.now() / 1000) + 1);
    h.github.failNext('POST', /generate-jitconfig$/, 403, {
      headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': reset },
      body: {
        message: 'API rate limit exceeded for installation.',
        documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api',
      },
    });
    const jobId = await h.github.queueJob(h.repo, CI_LABELS);

    await waitFor('the job to finish', jobDone(h, jobId));
    expect(jitCalls(h).map((x) => x.status)).toEqual([403, 201]);
  });

  it('honours retry-after on a secondary rate limit (429)', async () => {
    h = await startHarness();
    h.github.failNext('POST', /generate-jitconfig$/, 429, {
      headers: { 'retry-after': '1' },
      body: {
        message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
        documentation_url: 'https://docs.github.com/rest',
      },
    });
    const jobId = await h.github.queueJob(h.repo, CI_LABELS);

    await waitFor('the job to finish', jobDone(h, jobId));
    expect(jitCalls(h).map((x) => x.status)).toEqual([429, 201]);
  });

  it('logs a 404 on the JIT call with the repo and starts nothing', async () => {
    h = await startHarness();
    h.github.failNext('POST', /generate-jitconfig$/, 404, {
      body: { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' },
    });
    await h.github.queueJob(h.repo, CI_LABELS);

    await waitFor('the failure', () => h!.stages.some((s) => s.stage === 'failed'));
    expect(h.service.controller.snapshot().lastError).toContain(`GitHub 404 on POST generate-jitconfig for ${h.repo}`);
    expect(await h.containers()).toHaveLength(0);
  });
});
