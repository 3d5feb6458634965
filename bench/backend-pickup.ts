// 4. Pickup per backend: a `queued` webhook until the job's container starts (Docker's start event), for the local
//    engine and for a single-node swarm, jobs alternating between the two controllers so drift touches both alike.
import type Docker from 'dockerode';
import { useSwarm, releaseSwarm } from '../test/support/swarm.js';
import { CI_LABELS, startBenchRun } from './controller-process.js';
import { StartEvents } from './docker-starts.js';
import { median, p95 } from './stats.js';
import { waitUntil } from './wait-until.js';

const WARMUP = 2;

export interface BackendPickup {
  jobs: number;
  ms: Record<'docker' | 'swarm', number[]>;
  median: Record<'docker' | 'swarm', number>;
  p95: Record<'docker' | 'swarm', number>;
}

export async function benchBackendPickup(docker: Docker, dir: string, jobs = 20): Promise<BackendPickup> {
  await useSwarm();
  const runs = {
    docker: await startBenchRun({
      docker,
      dir,
      name: 'pickup-docker',
      maxConcurrent: 4,
      jobSeconds: 0.2,
      backend: 'docker',
    }),
    swarm: await startBenchRun({
      docker,
      dir,
      name: 'pickup-swarm',
      maxConcurrent: 4,
      jobSeconds: 0.2,
      backend: 'swarm',
    }),
  };
  const events = await StartEvents.open(docker);
  const result: BackendPickup = {
    jobs,
    ms: { docker: [], swarm: [] },
    median: { docker: 0, swarm: 0 },
    p95: { docker: 0, swarm: 0 },
  };
  try {
    for (let i = 0; i < WARMUP + jobs; i++) {
      for (const backend of ['docker', 'swarm'] as const) {
        const run = runs[backend];
        const sent = Date.now();
        const jobId = await run.standin.queueJob(run.repo, CI_LABELS);
        const started = await events.wait(
          `${backend} job ${jobId}`,
          (a) => a['factory.instance'] === run.instance && a['factory.job-id'] === String(jobId),
        );
        await waitUntil(
          `${backend} job ${jobId} to finish and be cleaned`,
          async () => run.standin.jobs.get(jobId)?.status === 'completed' && (await run.status()).running.length === 0,
        );
        if (i >= WARMUP) result.ms[backend].push(started - sent);
      }
    }
  } finally {
    events.close();
    await runs.docker.stop();
    await runs.swarm.stop();
    await releaseSwarm();
  }
  for (const b of ['docker', 'swarm'] as const) {
    result.median[b] = median(result.ms[b]);
    result.p95[b] = p95(result.ms[b]);
  }
  return result;
}
