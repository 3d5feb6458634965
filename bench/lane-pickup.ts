// Lane pickup, warm against cold: a codex lane profile whose login each job's release takes (the idle warm runner
// holds none of it). 1. `queued → in_progress` on the stand-in's clock, as for CI; 2. `queued → released` on the
// controller's (the job's first step waits for the release); 3. each job's pickup by stage. Jobs alternate between a
// warm pool of 1 and no pool, in the same run.
import type Docker from 'dockerode';
import type { JobTimeline } from '../controller/observe/timeline.js';
import { CI_LABELS, startBenchRun, type ControllerProcess } from './controller-process.js';
import type { GitHubStandin } from '../controller/github/standin/github-standin.js';
import { stageDurations, stageMedians, type PickupStage } from './pickup-stages.js';
import { median, p95 } from './stats.js';
import { waitUntil } from './wait-until.js';

const WARMUP = 2;
type Run = ControllerProcess & { standin: GitHubStandin };

export interface LanePickupResult {
  jobs: number;
  warm: LaneSeries;
  cold: LaneSeries;
  /** Warm median / cold median, queued → in_progress and queued → released. */
  ratio: { inProgress: number; released: number };
}

interface LaneSeries {
  inProgressMs: number[];
  releasedMs: number[];
  stages: Array<Partial<Record<PickupStage, number>>>;
  median: { inProgress: number; released: number };
  p95: { inProgress: number; released: number };
  stageMedians: Partial<Record<PickupStage, number>>;
  /** Jobs that went to a runner registered for no job. */
  warmHits: number;
}

const listening = (run: Run) =>
  [...run.standin.runners.values()].filter((r) => r.repo === run.repo && r.status === 'online' && !r.busy).length;

async function oneJob(run: Run, pool: number) {
  const { standin } = run;
  const jobId = await standin.queueJob(run.repo, CI_LABELS);
  await waitUntil(`job ${jobId} to finish`, () => standin.jobs.get(jobId)?.status === 'completed');
  await waitUntil('the controller to settle', async () => {
    const s = await run.status();
    return pool === 0 ? s.running.length === 0 : s.running.length === pool && listening(run) === pool;
  });
  const job = standin.jobs.get(jobId)!;
  const timeline = (await (await fetch(`${run.statusUrl}/jobs/${jobId}`)).json()) as JobTimeline;
  const at = (stage: string) => timeline.events.find((e) => e.stage === stage)?.at ?? NaN;
  return {
    inProgressMs: job.startedAt! - job.queuedAt,
    releasedMs: at('released') - at('queued'),
    stages: stageDurations(timeline),
    warm: /-0-[0-9a-f]{6}$/.test(job.runnerName ?? ''),
  };
}

const series = (): LaneSeries => ({
  inProgressMs: [],
  releasedMs: [],
  stages: [],
  median: { inProgress: 0, released: 0 },
  p95: { inProgress: 0, released: 0 },
  stageMedians: {},
  warmHits: 0,
});

function summarize(s: LaneSeries): void {
  s.median = { inProgress: median(s.inProgressMs), released: median(s.releasedMs) };
  s.p95 = { inProgress: p95(s.inProgressMs), released: p95(s.releasedMs) };
  s.stageMedians = stageMedians(s.stages);
}

export async function benchLanePickup(docker: Docker, dir: string, jobs = 20): Promise<LanePickupResult> {
  const common = { docker, dir, maxConcurrent: 4, jobSeconds: 0.2, lane: true };
  const warmRun = await startBenchRun({ ...common, name: 'lane-warm', warm: 1 });
  let coldRun: Run | undefined;
  const result: LanePickupResult = { jobs, warm: series(), cold: series(), ratio: { inProgress: 0, released: 0 } };
  try {
    coldRun = await startBenchRun({ ...common, name: 'lane-cold' });
    await waitUntil('the warm lane pool to fill', () => listening(warmRun) === 1);
    for (let i = 0; i < WARMUP + jobs; i++) {
      // Alternated, so drift on this shared machine touches both alike.
      const w = await oneJob(warmRun, 1);
      const c = await oneJob(coldRun, 0);
      if (i < WARMUP) continue;
      for (const [s, j] of [
        [result.warm, w],
        [result.cold, c],
      ] as const) {
        s.inProgressMs.push(j.inProgressMs);
        s.releasedMs.push(j.releasedMs);
        s.stages.push(j.stages);
        if (j.warm) s.warmHits++;
      }
    }
  } finally {
    await coldRun?.stop();
    await warmRun.stop();
  }
  summarize(result.warm);
  summarize(result.cold);
  result.ratio = {
    inProgress: result.warm.median.inProgress / result.cold.median.inProgress,
    released: result.warm.median.released / result.cold.median.released,
  };
  return result;
}
