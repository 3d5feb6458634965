// The controller with `intake: scaleset` on the real engine: no inbound port, jobs from the stand-in's runner scale
// set, runners registered through the scale set; a session evicted mid-burst, and `kill -9` mid-burst with the next
// start meeting the dead process's session (409), each end with every job run exactly once and nothing left.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { STANDIN_IMAGE } from '../../controller/commands/demo.js';
import { GitHubStandin } from '../../controller/github/standin/github-standin.js';
import { LABEL } from '../../controller/model/runner.js';
import { spawnFactory } from '../support/factory-source.js';
import { CI_LABELS, docker, startHarness, uniqueRepo, waitFor, type Harness } from '../support/harness.js';

let h: Harness | undefined;
let standin: GitHubStandin | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
  await standin?.stop();
  standin = undefined;
});

async function scaleSetHarness(): Promise<Harness> {
  standin = new GitHubStandin({ jobSeconds: 1, scaleSets: { longPollMs: 500, sessionTtlMs: 1_000 } });
  await standin.start();
  return startHarness({ standin, config: { intake: 'scaleset' } });
}

/** Each job completed by one runner of the scale set, and no runner, container or claim left behind. */
async function everyJobRanOnce(harness: Harness, ids: number[], what: string): Promise<void> {
  await waitFor(
    what,
    async () =>
      ids.every((id) => harness.github.jobs.get(id)?.status === 'completed') &&
      harness.service.controller.snapshot().runners.length === 0 &&
      harness.github.runners.size === 0 &&
      (await harness.containers()).length === 0,
    60_000,
  );
  const runners = ids.map((id) => harness.github.jobs.get(id)!.runnerName);
  expect(new Set(runners).size).toBe(ids.length);
  expect(harness.github.exchanges.filter((x) => x.path.endsWith('/generate-jitconfig'))).toHaveLength(0);
}

it('runs a burst from the scale set with no listening port, each job on a runner of the scale set', async () => {
  h = await scaleSetHarness();
  expect(h.config.github.webhook).toBeUndefined();
  expect(h.service.url).toBe('');
  await waitFor('the session', () => h!.service.scaleSets?.views()[0]?.session === 'live');
  const ids: number[] = [];
  for (let i = 0; i < 3; i++) ids.push(await h.github.queueJob(h.repo, CI_LABELS, { announce: false }));
  await everyJobRanOnce(h, ids, 'the burst');

  const [view] = h.service.scaleSets!.views();
  expect(view).toMatchObject({ name: 'ci', scope: h.repo, session: 'live', pending: 0 });
  const jit = standin!.serviceExchanges.filter((x) => x.path.endsWith('/generatejitconfig'));
  expect(jit).toHaveLength(3);
  expect(await (await fetch(`${h.service.statusUrl}/metrics`)).text()).toMatch(
    /factory_scaleset_jobs\{[^}]*scale_set="ci"/,
  );
});

it('recovers from its session evicted mid-burst without losing or repeating a job', async () => {
  h = await scaleSetHarness();
  await waitFor('the session', () => h!.service.scaleSets?.views()[0]?.session === 'live');
  const ids: number[] = [];
  for (let i = 0; i < 2; i++) ids.push(await h.github.queueJob(h.repo, CI_LABELS, { announce: false }));
  await waitFor('a job running', () => ids.some((id) => h!.github.jobs.get(id)?.status === 'in_progress'));
  standin!.service.evictSession(h.service.scaleSets!.views()[0]!.scaleSetId!);
  for (let i = 0; i < 2; i++) ids.push(await h.github.queueJob(h.repo, CI_LABELS, { announce: false }));
  await everyJobRanOnce(h, ids, 'the burst across the eviction');
  expect(h.service.scaleSets!.views()[0]!.recoveries['new-session']).toBeGreaterThanOrEqual(1);
});

it('after kill -9 mid-burst, the next start waits out the dead session, resumes from its cursor and runs each job once', async () => {
  // The killed process's session stays live (the service has not noticed it is gone) until the test lets it lapse.
  const service = { longPollMs: 500, sessionTtlMs: 600_000 };
  standin = new GitHubStandin({ jobSeconds: 2, scaleSets: service });
  await standin.start();
  const github = standin;
  const repo = uniqueRepo('scaleset-kill');
  const instance = `scaleset-kill-${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), 'factory-scaleset-'));
  const configFile = join(dir, 'factory.yml');
  writeFileSync(
    configFile,
    stringify({
      github: { apiUrl: github.url, auth: { tokenEnv: 'KILL_GH_TOKEN' } },
      intake: 'scaleset',
      instance,
      stateDir: join(dir, 'state'),
      status: { port: 0 },
      reconcileInterval: '1s',
      profiles: { ci: { labels: CI_LABELS, image: STANDIN_IMAGE, network: 'host', trusted: true, memory: '64m' } },
      repos: [{ repo, profiles: ['ci'], maxConcurrent: 4 }],
    }),
  );
  const containers = () =>
    docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${LABEL.instance}=${instance}`] }) });
  const logs: string[] = [];
  const start = async (): Promise<ChildProcess> => {
    const child = spawnFactory(['controller', '--config', configFile], {
      env: { ...process.env, KILL_GH_TOKEN: 'ghs_killtoken', FACTORY_LOG_LEVEL: 'info' },
      stderr: 'inherit',
    });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        logs.push(chunk.toString());
        if (out.includes('controller listening to runner scale sets')) resolve();
      });
      child.on('exit', (code) => reject(new Error(`controller exited early (${code}): ${out.slice(-2000)}`)));
    });
    return child;
  };
  let child: ChildProcess | undefined;
  try {
    child = await start();
    const ids: number[] = [];
    for (let i = 0; i < 4; i++) ids.push(await github.queueJob(repo, CI_LABELS, { announce: false }));
    await waitFor(
      'two jobs running',
      () => ids.filter((id) => github.jobs.get(id)?.status === 'in_progress').length >= 2,
    );
    child.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));
    for (let i = 0; i < 2; i++) ids.push(await github.queueJob(repo, CI_LABELS, { announce: false }));

    child = await start();
    const conflict = () => github.serviceExchanges.some((x) => x.path.endsWith('/sessions') && x.status === 409);
    await waitFor('the next start to meet the dead session', conflict);
    service.sessionTtlMs = 500;
    await waitFor(
      'every job done and nothing left',
      async () =>
        ids.every((id) => github.jobs.get(id)?.status === 'completed') &&
        github.runners.size === 0 &&
        (await containers()).length === 0,
      60_000,
    );
    expect(new Set(ids.map((id) => github.jobs.get(id)!.runnerName)).size).toBe(ids.length);
    // It resumed from the cursor: its first poll named a message the first process had handled.
    const polls = github.service.polls;
    expect(polls.some((p, i) => i > 0 && p.lastMessageId > 0 && polls[i - 1]!.lastMessageId <= p.lastMessageId)).toBe(
      true,
    );
  } catch (err) {
    const jobs = [...github.jobs.values()].map((j) => [
      j.id,
      j.status,
      j.requestId,
      j.scaleSetId,
      j.acquired,
      j.runnerName,
    ]);
    const runners = [...github.runners.values()].map((r) => [r.id, r.name, r.status, r.busy, r.jobId, r.scaleSetId]);
    console.log(JSON.stringify({ jobs, runners, containers: (await containers()).map((c) => [c.Names, c.State]) }));
    console.log(
      logs
        .join('')
        .split('\n')
        .filter((l) => !l.includes('"level":20'))
        .slice(-80)
        .join('\n'),
    );
    throw err;
  } finally {
    child?.kill('SIGKILL');
    for (const c of await containers())
      await docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}, 90_000);
