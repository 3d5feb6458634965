// 2. Burst: 100 one-second jobs announced at once, with duplicate deliveries mixed in, under a cap of 8. The stand-in
//    assigns as GitHub does (a runner takes the oldest queued job it covers, not the one it was made for). Time to
//    drain, runners per job, the most job containers running at once as Docker's events show, and proof that nothing
//    was left behind, at GitHub or in Docker.
import { randomUUID } from 'node:crypto';
import type Docker from 'dockerode';
import { CI_LABELS, startBenchRun } from './controller-process.js';
import { watchConcurrency } from '../test/support/container-concurrency.js';

export interface BurstResult {
  jobs: number;
  deliveries: number;
  cap: number;
  drainMs: number;
  runnersCreated: number;
  runnersPerJob: number;
  distinctRunnerNames: number;
  /** Jobs GitHub started more than once (two runners ran it). */
  jobsRunTwice: number;
  maxRunning: number;
  orphanContainers: number;
  orphanRunners: number;
  deliveryStatuses: Record<string, number>;
}

export async function benchBurst(docker: Docker, dir: string, jobs = 100, cap = 8): Promise<BurstResult> {
  const controller = await startBenchRun({ docker, dir, name: 'burst', maxConcurrent: cap, jobSeconds: 1 });
  const { standin } = controller;
  try {
    const ids: number[] = [];
    for (let i = 0; i < jobs; i++) ids.push(await standin.queueJob(controller.repo, CI_LABELS, { announce: false }));
    // One delivery per job, then 30 replays of a delivery id already sent and 20 new deliveries for a job already
    // announced (GitHub does both), shuffled together.
    const planned = ids.map((id) => ({ id, delivery: randomUUID() }));
    const replays = Array.from({ length: 30 }, (_, i) => planned[(i * 7) % jobs]!);
    const repeats = Array.from({ length: 20 }, (_, i) => ({ id: ids[(i * 13 + 5) % jobs]!, delivery: randomUUID() }));
    const all = [...planned, ...replays, ...repeats].sort(() => Math.random() - 0.5);

    const t0 = Date.now();
    const concurrency = await watchConcurrency(docker, `factory.instance=${controller.instance}`);
    const statuses = await Promise.all(all.map((d) => standin.deliver(standin.jobs.get(d.id)!, 'queued', d.delivery)));
    const deadline = t0 + 300_000;
    for (;;) {
      const status = await controller.status();
      if (
        ids.every((id) => standin.jobs.get(id)?.status === 'completed') &&
        status.running.length === 0 &&
        status.queued.length === 0
      )
        break;
      if (Date.now() > deadline) throw new Error('burst did not drain within 300 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    const drainMs = Date.now() - t0;
    concurrency.stop();
    const maxRunning = concurrency.max();

    const jit = standin.exchanges.filter(
      (x) => x.method === 'POST' && x.path.endsWith('/generate-jitconfig') && x.status === 201,
    );
    const names = jit.map((x) => (x.requestBody as { name: string }).name);
    // Runner names carry the job that caused them, but GitHub hands runners the oldest queued job, so a name says
    // nothing about which job a runner ran; the stand-in's in_progress deliveries do.
    const starts = new Map<number, number>();
    for (const d of standin.deliveries)
      if (d.action === 'in_progress') starts.set(d.jobId, (starts.get(d.jobId) ?? 0) + 1);
    const left = await docker.listContainers({
      all: true,
      filters: JSON.stringify({ label: [`factory.instance=${controller.instance}`] }),
    });
    const deliveryStatuses: Record<string, number> = {};
    for (const s of statuses) deliveryStatuses[s] = (deliveryStatuses[s] ?? 0) + 1;
    return {
      jobs,
      deliveries: all.length,
      cap,
      drainMs,
      runnersCreated: jit.length,
      runnersPerJob: jit.length / jobs,
      distinctRunnerNames: new Set(names).size,
      jobsRunTwice: [...starts.values()].filter((n) => n > 1).length,
      maxRunning,
      orphanContainers: left.length,
      orphanRunners: [...standin.runners.values()].filter((r) => r.repo === controller.repo).length,
      deliveryStatuses,
    };
  } finally {
    await controller.stop();
  }
}
