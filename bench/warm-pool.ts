// Warm pools. 1. `queued → in_progress` as the job's author sees it (the stand-in's own clock, assigning as GitHub
//    does: an idle runner covering the job takes it at once, a new one takes the oldest queued job when it connects),
//    30 sequential jobs through a warm pool of 2 and 30 through no pool, alternated in the same run. 2. A burst of 40
//    jobs through a pool of 4 under a cap of 8: drain time, most job containers at once (Docker's events), runners
//    registered per job, and what is left besides the pool.
import type Docker from 'dockerode';
import { CI_LABELS, startBenchRun, type ControllerProcess } from './controller-process.js';
import type { GitHubStandin } from '../controller/github/standin/github-standin.js';
import { median, p95 } from './stats.js';
import { watchConcurrency } from '../test/support/container-concurrency.js';
import { waitUntil } from './wait-until.js';

const WARMUP = 2;
type Run = ControllerProcess & { standin: GitHubStandin };

export interface WarmPoolResult {
  jobs: number;
  warmMs: number[];
  coldMs: number[];
  summary: { warmMedian: number; warmP95: number; coldMedian: number; coldP95: number; ratio: number };
  /** Jobs of the warm series that went to a runner registered for no job. */
  warmHits: number;
  burst: {
    jobs: number;
    pool: number;
    cap: number;
    drainMs: number;
    maxRunning: number;
    runnersRegistered: number;
    runnersPerJob: number;
    jobsRunTwice: number;
    /** Containers and GitHub runners left once the burst drained, the idle pool aside. */
    leftContainers: number;
    leftRunners: number;
  };
}

const listening = (run: Run) =>
  [...run.standin.runners.values()].filter((r) => r.repo === run.repo && r.status === 'online' && !r.busy).length;

/** One job queued and announced; resolves with its queued → in_progress once it is done and its runner cleaned. */
async function oneJob(run: Run, pool: number): Promise<{ ms: number; warm: boolean }> {
  const { standin } = run;
  const jobId = await standin.queueJob(run.repo, CI_LABELS);
  await waitUntil(`job ${jobId} to finish`, () => standin.jobs.get(jobId)?.status === 'completed');
  await waitUntil('the controller to settle', async () => {
    const s = await run.status();
    // No pool: nothing left running. A pool: back to its size, every one listening.
    return pool === 0 ? s.running.length === 0 : s.running.length === pool && listening(run) === pool;
  });
  const job = standin.jobs.get(jobId)!;
  return { ms: job.startedAt! - job.queuedAt, warm: /-0-[0-9a-f]{6}$/.test(job.runnerName ?? '') };
}

export async function benchWarmPool(docker: Docker, dir: string, jobs = 30): Promise<WarmPoolResult> {
  const warm = await startBenchRun({ docker, dir, name: 'warm', maxConcurrent: 4, jobSeconds: 0.2, warm: 2 });
  let cold: Run | undefined;
  const result: WarmPoolResult = {
    jobs,
    warmMs: [],
    coldMs: [],
    summary: { warmMedian: 0, warmP95: 0, coldMedian: 0, coldP95: 0, ratio: 0 },
    warmHits: 0,
    burst: {
      jobs: 40,
      pool: 4,
      cap: 8,
      drainMs: 0,
      maxRunning: 0,
      runnersRegistered: 0,
      runnersPerJob: 0,
      jobsRunTwice: 0,
      leftContainers: 0,
      leftRunners: 0,
    },
  };
  try {
    cold = await startBenchRun({ docker, dir, name: 'cold', maxConcurrent: 4, jobSeconds: 0.2 });
    await waitUntil('the warm pool to fill', () => listening(warm) === 2);
    for (let i = 0; i < WARMUP + jobs; i++) {
      // Alternated, so drift on this shared machine touches both alike.
      const w = await oneJob(warm, 2);
      const c = await oneJob(cold, 0);
      if (i < WARMUP) continue;
      result.warmMs.push(w.ms);
      result.coldMs.push(c.ms);
      if (w.warm) result.warmHits++;
    }
  } finally {
    await cold?.stop();
    await warm.stop();
  }
  const s = result.summary;
  s.warmMedian = median(result.warmMs);
  s.warmP95 = p95(result.warmMs);
  s.coldMedian = median(result.coldMs);
  s.coldP95 = p95(result.coldMs);
  s.ratio = s.warmMedian / s.coldMedian;
  result.burst = await burstThroughPool(docker, dir);
  return result;
}

async function burstThroughPool(docker: Docker, dir: string, jobs = 40, pool = 4, cap = 8) {
  const run = await startBenchRun({ docker, dir, name: 'warm-burst', maxConcurrent: cap, jobSeconds: 1, warm: pool });
  const { standin } = run;
  try {
    await waitUntil('the pool to fill', () => listening(run) === pool);
    const jitBefore = standin.exchanges.filter((x) => x.path.endsWith('/generate-jitconfig')).length;
    const concurrency = await watchConcurrency(docker, `factory.instance=${run.instance}`);
    const t0 = Date.now();
    const ids = await Promise.all(Array.from({ length: jobs }, () => standin.queueJob(run.repo, CI_LABELS)));
    await waitUntil(
      'the burst to drain',
      async () => {
        const s = await run.status();
        return ids.every((id) => standin.jobs.get(id)?.status === 'completed') && s.queued.length === 0;
      },
      300_000,
    );
    const drainMs = Date.now() - t0;
    await waitUntil(
      'the pool back to its size, listening',
      async () => (await run.status()).running.length === pool && listening(run) === pool,
    );
    concurrency.stop();
    const maxRunning = concurrency.max();
    const registered = standin.exchanges.filter((x) => x.path.endsWith('/generate-jitconfig')).length - jitBefore;
    const starts = new Map<number, number>();
    for (const d of standin.deliveries)
      if (d.action === 'in_progress') starts.set(d.jobId, (starts.get(d.jobId) ?? 0) + 1);
    const left = await docker.listContainers({
      all: true,
      filters: JSON.stringify({ label: [`factory.instance=${run.instance}`] }),
    });
    const runners = [...standin.runners.values()].filter((r) => r.repo === run.repo);
    return {
      jobs,
      pool,
      cap,
      drainMs,
      maxRunning,
      runnersRegistered: registered,
      runnersPerJob: registered / jobs,
      jobsRunTwice: [...starts.values()].filter((n) => n > 1).length,
      leftContainers: left.length - pool,
      leftRunners: runners.length - pool,
    };
  } finally {
    await run.stop();
  }
}
