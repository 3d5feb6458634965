// Pickup of a profile with `egress` against the same profile without it, in one controller, jobs alternating so drift
// on this shared machine touches both alike: a `queued` webhook until Docker reports the job's container started.
// The job never runs (its runner cannot reach the loopback stand-in from a bridge or internal network): each is
// cancelled once its container started, and the next one is queued once the controller removed the runner.
import type Docker from 'dockerode';
import { startBenchRun } from './controller-process.js';
import { StartEvents } from './docker-starts.js';
import { median, p95 } from './stats.js';
import { waitUntil } from './wait-until.js';

const WARMUP = 2;
const KINDS = ['plain', 'egress'] as const;
type Kind = (typeof KINDS)[number];

export interface EgressPickup {
  jobs: number;
  ms: Record<Kind, number[]>;
  median: Record<Kind, number>;
  p95: Record<Kind, number>;
  /** Egress median minus plain median. */
  addedMs: number;
}

const labels = (kind: Kind) => ['self-hosted', 'factory', `bench-${kind}`];

export async function benchEgressPickup(docker: Docker, dir: string, image: string, jobs = 20): Promise<EgressPickup> {
  const profile = (kind: Kind) =>
    `{ labels: [${labels(kind).join(', ')}], image: ${image}, cpus: 0.5, memory: 256m, pids: 64, network: bridge, trusted: true${kind === 'egress' ? ', egress: { allow: [api.anthropic.com] }' : ''} }`;
  const run = await startBenchRun({
    docker,
    dir,
    name: 'egress-pickup',
    maxConcurrent: 2,
    jobSeconds: 0.2,
    profiles: { plain: profile('plain'), egress: profile('egress') },
  });
  const events = await StartEvents.open(docker);
  const result: EgressPickup = {
    jobs,
    ms: { plain: [], egress: [] },
    median: { plain: 0, egress: 0 },
    p95: { plain: 0, egress: 0 },
    addedMs: 0,
  };
  try {
    for (let i = 0; i < WARMUP + jobs; i++) {
      for (const kind of KINDS) {
        const sent = Date.now();
        const jobId = await run.standin.queueJob(run.repo, labels(kind));
        const started = await events.wait(
          `${kind} job ${jobId}`,
          (a) => a['factory.instance'] === run.instance && a['factory.job-id'] === String(jobId),
        );
        if (i >= WARMUP) result.ms[kind].push(started - sent);
        await run.standin.cancelJob(jobId);
        await waitUntil(`${kind} job ${jobId}'s runner to be removed`, async () => {
          const jobContainers = await docker.listContainers({
            all: true,
            filters: JSON.stringify({ label: [`factory.instance=${run.instance}`, 'factory.job-id'] }),
          });
          return jobContainers.length === 0 && (await run.status()).running.length === 0;
        });
      }
    }
  } finally {
    events.close();
    await run.stop();
    // The controller removes its spare gateways as it stops; a benchmark cut short may leave a job's network.
    const networks = await docker.listNetworks({
      filters: JSON.stringify({ label: [`factory.instance=${run.instance}`] }),
    });
    for (const n of networks)
      await docker
        .getNetwork(n.Id)
        .remove()
        .catch(() => {});
  }
  for (const k of KINDS) {
    result.median[k] = median(result.ms[k]);
    result.p95[k] = p95(result.ms[k]);
  }
  result.addedMs = result.median.egress - result.median.plain;
  return result;
}
