// 4. The controller's resident memory, idle and with 50 jobs running at once (its own process, read from /proc).
import type Docker from 'dockerode';
import { GitHubStandin } from '../controller/standin/github-standin.js';
import { CI_LABELS, startControllerProcess } from './controller-process.js';

export interface MemoryResult {
  idleRssBytes: number;
  jobs: number;
  rssAtAllRunningBytes: number;
  peakRssBytes: number;
  msUntilAllRunning: number;
}

export async function benchMemory(docker: Docker, dir: string, jobs = 50): Promise<MemoryResult> {
  // Jobs outlast the measurement; the containers are removed at the end instead of waited for.
  const standin = new GitHubStandin({ jobSeconds: 120 });
  await standin.start();
  const controller = await startControllerProcess({ standin, dir, name: 'memory', maxConcurrent: jobs });
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
    if (status.running.length !== jobs) throw new Error(`expected ${jobs} runners, the controller reports ${status.running.length}`);
    const rssAtAllRunningBytes = controller.rssBytes();
    return { idleRssBytes, jobs, rssAtAllRunningBytes, peakRssBytes: Math.max(peakRssBytes, rssAtAllRunningBytes), msUntilAllRunning };
  } finally {
    await controller.stop();
    const left = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`factory.instance=${controller.instance}`] }) });
    await Promise.all(left.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => {})));
    await standin.stop();
  }
}
