// The operator's view of a running controller: /metrics, `factory status` and the job timeline, on the real Docker
// engine with the GitHub stand-in.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../controller/commands/cli.js';
import type { Io } from '../../controller/commands/io.js';
import type { Config } from '../../controller/config/config.js';
import type { StatusSnapshot } from '../../controller/status/status-snapshot.js';
import type { JobTimeline } from '../../controller/observe/timeline.js';
import { CI_LABELS, startHarness, uniqueRepo, waitFor, type Harness } from '../support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

async function factory(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { stdout: (s) => void out.push(s), stderr: (s) => void err.push(s) };
  const code = await main(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const get = async (url: string) => {
  const res = await fetch(url);
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
};

const metricValue = (text: string, line: string) => {
  const found = text.split('\n').find((l) => l.startsWith(line + ' '));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
};

const jobDone = (harness: Harness, jobId: number) => () =>
  harness.github.jobs.get(jobId)?.status === 'completed' && harness.service.controller.snapshot().runners.length === 0;

describe('status endpoint, factory status and the job timeline', () => {
  it('a finished job shows in /metrics, in factory status and in its timeline, which survives a restart', async () => {
    h = await startHarness({ jobSeconds: 1 });
    const jobId = await h.github.queueJob(h.repo, CI_LABELS);
    await waitFor('the job to finish and be cleaned up', jobDone(h, jobId));

    const metrics = await get(`${h.service.statusUrl}/metrics`);
    expect(metrics.type).toContain('text/plain');
    const labels = `repo="${h.repo}",profile="ci"`;
    expect(metricValue(metrics.text, `factory_jobs_seen_total{${labels}}`)).toBe(1);
    expect(metricValue(metrics.text, `factory_jobs_total{${labels},stage="started"}`)).toBe(1);
    expect(metricValue(metrics.text, `factory_jobs_total{${labels},stage="cleaned"}`)).toBe(1);
    expect(metricValue(metrics.text, `factory_pickup_latency_seconds_count{${labels}}`)).toBe(1);
    expect(metricValue(metrics.text, `factory_runner_online_latency_seconds_count{${labels}}`)).toBe(1);
    expect(
      metricValue(
        metrics.text,
        'factory_github_api_calls_total{route="POST /repos/{owner}/{repo}/actions/runners/generate-jitconfig",status="201"}',
      ),
    ).toBe(1);
    expect(metricValue(metrics.text, 'factory_github_rate_limit_remaining')).toBe(4999);
    expect(metricValue(metrics.text, 'factory_docker_up')).toBe(1);

    const dir = mkdtempSync(join(tmpdir(), 'factory-status-'));
    try {
      const file = join(dir, 'factory.yml');
      const port = new URL(h.service.statusUrl).port;
      writeFileSync(
        file,
        [
          'github: { auth: { tokenEnv: T }, webhook: { secret: { env: S } } }',
          `status: { host: 127.0.0.1, port: ${port} }`,
          'profiles: { ci: { labels: [factory, ci], image: x } }',
          `repos: [{ repo: ${h.repo}, profiles: [ci] }]`,
        ].join('\n'),
      );
      const table = await factory('status', '--config', file);
      expect(table.err).toBe('');
      expect(table.code).toBe(0);
      expect(table.out).toMatch(new RegExp(`^${h.repo}\\s+ci\\s+0\\s+0\\s+1\\s+0\\s+\\d+s ago$`, 'm'));
      expect(table.out).toMatch(new RegExp(`^${jobId}\\s+${h.repo}\\s+ci\\s+cleaned\\s+\\d+\\.\\d\\ds`, 'm'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    const one = await factory('status', '--job', String(jobId), '--url', h.service.statusUrl);
    expect(one.code).toBe(0);
    const stages = [...one.out.matchAll(/^\S+\s+\+\S+\s+(\S+)/gm)].map((m) => m[1]).filter((s) => s !== 'AFTER');
    // A fast runner may report in_progress before Docker's start call answers: the timeline shows what happened when.
    // The runner coming online is a stage only when it is read before the job finishes (runner-lifecycle.ts).
    expect(stages.filter((s) => s === 'runner-online').length).toBeLessThanOrEqual(1);
    expect(stages.filter((s) => s !== 'runner-online').sort()).toEqual([
      'cleaned',
      'completed',
      'container-started',
      'in_progress',
      'queued',
      // The ci profile is trusted (host networking): its job's assignment is checked before the release.
      'released',
      'runner-created',
      'taken',
    ]);
    expect(stages.slice(0, 3)).toEqual(['queued', 'taken', 'runner-created']);
    expect(stages.at(-1)).toBe('cleaned');
    // Trusted for its host network but carrying no credential: its last lines are kept (lanes/release.ts).
    expect(one.out).toContain(`  | Job ${jobId} completed with result: Succeeded`);

    await h.restart();
    const after = JSON.parse((await get(`${h.service.statusUrl}/jobs/${jobId}`)).text) as JobTimeline;
    expect(after.events.map((e) => e.stage)).toEqual(stages);
  });

  it('shows the running runner and the job waiting behind the repo cap while they last', async () => {
    h = await startHarness({ jobSeconds: 4, repoMaxConcurrent: 1 });
    const first = await h.github.queueJob(h.repo, CI_LABELS);
    const second = await h.github.queueJob(h.repo, CI_LABELS);
    await waitFor('the first job to run', () => h!.github.jobs.get(first)?.status === 'in_progress');
    // GitHub's state changes before its in_progress delivery reaches the controller, which may come a moment later.
    await waitFor('the controller to see its runner busy', () =>
      h!.service.controller.snapshot().runners.some((r) => r.busy),
    );

    const status = JSON.parse((await get(`${h.service.statusUrl}/status`)).text) as StatusSnapshot;
    expect(status.docker).toBe('up');
    expect(status.running).toEqual([
      expect.objectContaining({ repo: h.repo, profile: 'ci', jobId: first, busy: true }),
    ]);
    expect(status.queued).toEqual([expect.objectContaining({ repo: h.repo, profile: 'ci', jobId: second })]);
    expect(status.rows).toEqual([expect.objectContaining({ repo: h.repo, profile: 'ci', running: 1, queued: 1 })]);

    const metrics = (await get(`${h.service.statusUrl}/metrics`)).text;
    expect(metricValue(metrics, `factory_jobs_queued{repo="${h.repo}",profile="ci"}`)).toBe(1);
    expect(metricValue(metrics, `factory_runner_containers{repo="${h.repo}",profile="ci"}`)).toBe(1);

    const table = await factory('status', '--url', h.service.statusUrl);
    expect(table.out).toMatch(
      new RegExp(`^RUNNING\\nRUNNER.*\\nfactory\\.\\S+\\s+${h.repo}\\s+ci\\s+${first}\\s+busy`, 'm'),
    );
    expect(table.out).toMatch(new RegExp(`^QUEUED\\nJOB.*\\n${second}\\s+${h.repo}\\s+ci\\s+\\d+s$`, 'm'));
    await waitFor('both jobs to finish', jobDone(h, second), 30_000);
  });

  it('a repo added by a live config change shows in factory status and its jobs are counted', async () => {
    h = await startHarness({ jobSeconds: 1 });
    const added = uniqueRepo('added');
    const next: Config = {
      ...h.config,
      repos: [...h.config.repos, { repo: added, profiles: ['ci'], maxConcurrent: 1 }],
    };
    expect(h.service.applyConfig(next)).toEqual([]);
    const jobId = await h.github.queueJob(added, CI_LABELS);
    await waitFor("the added repo's job to finish", jobDone(h, jobId));

    const status = JSON.parse((await get(`${h.service.statusUrl}/status`)).text) as StatusSnapshot;
    expect(status.rows.map((r) => r.repo)).toEqual([h.repo, added]);
    expect(status.rows[1]).toMatchObject({ recent: 1, failed: 0 });
    const metrics = (await get(`${h.service.statusUrl}/metrics`)).text;
    expect(metricValue(metrics, `factory_jobs_seen_total{repo="${added}",profile="ci"}`)).toBe(1);
  });

  it('never shows the JIT config or the GitHub token in /status, /jobs or /metrics', async () => {
    h = await startHarness({ jobSeconds: 1 });
    const jobId = await h.github.queueJob(h.repo, CI_LABELS);
    await waitFor('the job to finish', jobDone(h, jobId));

    const jit = h.github.exchanges.find((x) => x.path.endsWith('/generate-jitconfig'))!.responseBody as {
      encoded_jit_config: string;
    };
    const shown = [
      (await get(`${h.service.statusUrl}/status`)).text,
      (await get(`${h.service.statusUrl}/jobs/${jobId}`)).text,
      (await get(`${h.service.statusUrl}/metrics`)).text,
    ].join('\n');
    expect(jit.encoded_jit_config.length).toBeGreaterThan(20);
    expect(shown).not.toContain(jit.encoded_jit_config);
    expect(shown).not.toMatch(/ghs_[0-9a-f]{24}/);
  });

  it('factory status says which job it does not know and where it found no controller', async () => {
    h = await startHarness();
    const unknown = await factory('status', '--job', '424242', '--url', h.service.statusUrl);
    expect(unknown).toMatchObject({
      code: 1,
      err: 'factory status: job 424242 is not in the timeline (it keeps the most recent jobs)',
    });

    const url = h.service.statusUrl;
    await h.stop();
    h = undefined;
    const nobody = await factory('status', '--url', url);
    expect(nobody.code).toBe(1);
    expect(nobody.err).toContain(`factory status: no controller answers at ${url} (ECONNREFUSED)`);
  });
});

describe('factory status arguments', () => {
  it('names a --url without a scheme instead of reporting that nothing answers there', async () => {
    expect(await factory('status', '--url', 'localhost:8081')).toEqual({
      code: 2,
      out: '',
      err: 'factory status: --url expects the status endpoint as http://HOST:PORT, got "localhost:8081"',
    });
  });
});
