// 5. Pickup per intake: queued → in_progress as the job's author sees it (the stand-in's own clock), for a controller
//    taking GitHub's webhooks and for one long-polling its runner scale sets with no inbound port, both against the
//    same stand-in, jobs alternating between the two (and which goes first) so drift touches both alike.
import type Docker from 'dockerode';
import { GitHubStandin } from '../controller/github/standin/github-standin.js';
import { CI_LABELS, startControllerProcess, type ControllerProcess } from './controller-process.js';
import { median, p95 } from './stats.js';
import { waitUntil } from './wait-until.js';

const WARMUP = 2;
const INTAKES = ['webhook', 'scaleset'] as const;
type Intake = (typeof INTAKES)[number];

export interface IntakePickup {
  jobs: number;
  /** How long the stand-in holds an empty poll, as the Actions service holds about 50 s: a job wakes it. */
  longPollMs: number;
  ms: Record<Intake, number[]>;
  median: Record<Intake, number>;
  p95: Record<Intake, number>;
  /** Scale-set median / webhook median. */
  ratio: number;
}

/** One job through one controller; resolves with its queued → in_progress once it is done and its runner cleaned. */
async function oneJob(standin: GitHubStandin, run: ControllerProcess, intake: Intake): Promise<number> {
  // A scale-set deployment gets no webhook: its jobs come only as the scale set's messages.
  const jobId = await standin.queueJob(run.repo, CI_LABELS, { announce: intake === 'webhook' });
  await waitUntil(
    `${intake} job ${jobId} to finish and be cleaned`,
    async () => standin.jobs.get(jobId)?.status === 'completed' && (await run.status()).running.length === 0,
  );
  const job = standin.jobs.get(jobId)!;
  return job.startedAt! - job.queuedAt;
}

export async function benchIntakePickup(docker: Docker, dir: string, jobs = 20): Promise<IntakePickup> {
  const longPollMs = 50_000;
  const standin = new GitHubStandin({ jobSeconds: 0.2, scaleSets: { longPollMs } });
  await standin.start();
  const runs: Partial<Record<Intake, ControllerProcess>> = {};
  const result: IntakePickup = {
    jobs,
    longPollMs,
    ms: { webhook: [], scaleset: [] },
    median: { webhook: 0, scaleset: 0 },
    p95: { webhook: 0, scaleset: 0 },
    ratio: 0,
  };
  try {
    for (const intake of INTAKES)
      runs[intake] = await startControllerProcess({
        docker,
        standin,
        dir,
        name: `intake-${intake}`,
        maxConcurrent: 4,
        intake,
      });
    await waitUntil('the scale set in session', async () =>
      (await runs.scaleset!.status()).scaleSets.every((s) => s.session === 'live'),
    );
    for (let i = 0; i < WARMUP + jobs; i++) {
      const order = i % 2 === 0 ? INTAKES : ([...INTAKES].reverse() as Intake[]);
      for (const intake of order) {
        const ms = await oneJob(standin, runs[intake]!, intake);
        if (i >= WARMUP) result.ms[intake].push(ms);
      }
    }
  } finally {
    for (const intake of INTAKES) await runs[intake]?.stop();
    await standin.stop();
  }
  for (const intake of INTAKES) {
    result.median[intake] = median(result.ms[intake]);
    result.p95[intake] = p95(result.ms[intake]);
  }
  result.ratio = result.median.scaleset / result.median.webhook;
  return result;
}
