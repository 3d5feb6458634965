// 4. The controller's resident memory, idle and with 50 jobs running at once (its own process, read from /proc).
import type Docker from 'dockerode';
import { CI_LABELS, startBenchRun } from './controller-process.js';

export interface MemoryResult {
  idleRssBytes: number;
  jobs: number;
  rssAtAllRunningBytes: number;
  peakRssBytes: number;
  msUntilAllRunning: number;
}

export async function benchMemory(docker: Docker, dir: string, jobs = 50): Promise<MemoryResult> {
  // Jobs outlast the measurement; stopping the controller removes their containers instead of waiting for them.
  const controller = await startBenchRun({ docker, dir, name: 'memory', maxConcurrent: jobs, jobSeconds: 120 });
  const { standin } = controller;
  try {
    await new Promise((r) => setTimeout(r, 3_000));
    const idleRssBytes = controller.rssBytes();

    const t0 = Date.now();
    const ids = await Promise.all(Array.from({ length: jobs }, () => standin.queueJob(controller.repo, CI_LABELS)));
    let peakRssBytes = 0;
    const deadline = t0 + 180_000;
    while (!ids.every((id) => standin.jobs.get(id)?.status === 'in_progress')) {
      peakRssBytes = Math.max(peakRssBytes, controller.rssBytes());
      if (Date.now() > deadline) throw new Error(`${jobs} jobs were not all running within 180 s`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const msUntilAllRunning = Date.now() - t0;
    const status = await controller.status();
    if (status.running.length !== jobs)
      throw new Error(`expected ${jobs} runners, the controller reports ${status.running.length}`);
    const rssAtAllRunningBytes = controller.rssBytes();
    return {
      idleRssBytes,
      jobs,
      rssAtAllRunningBytes,
      peakRssBytes: Math.max(peakRssBytes, rssAtAllRunningBytes),
      msUntilAllRunning,
    };
  } finally {
    await controller.stop();
  }
}
