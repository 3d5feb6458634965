// `npm run bench`: the speed and memory figures of docs/benchmarks.md, against the real Docker engine and the loopback GitHub stand-in.
// Prints a Markdown table (the one in docs/benchmarks.md) and writes bench/results.json. Never part of `npm test`.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { ensureStandinImages } from '../controller/commands/demo.js';
import { benchAgentLane } from './agent-lane.js';
import { benchBackendPickup } from './backend-pickup.js';
import { benchBurst } from './burst.js';
import { benchMemory } from './memory.js';
import { benchJobDocker } from './job-docker.js';
import { benchPickup } from './pickup.js';
import { benchWarmPool } from './warm-pool.js';
import { round } from './stats.js';

const MB = 1024 * 1024;
const ms = (n: number) => `${Math.round(n)} ms`;
const mb = (n: number) => `${round(n / MB, 1)} MB`;
const yes = (ok: boolean) => (ok ? 'met' : '**missed**');

async function main(): Promise<void> {
  const started = Date.now();
  const docker = new Docker({ socketPath: '/var/run/docker.sock' });
  await ensureStandinImages();
  const dir = mkdtempSync(join(tmpdir(), 'factory-bench-'));
  const step = (name: string) =>
    process.stderr.write(`bench: ${name} (${Math.round((Date.now() - started) / 1000)} s so far)\n`);

  step('pickup latency, 30 jobs, and docker run -d of the same container');
  const pickup = await benchPickup(docker, dir);
  step('pickup per backend, 20 jobs each: local engine and single-node swarm');
  const backends = await benchBackendPickup(docker, dir);
  step('burst of 100 jobs under a cap of 8');
  const burst = await benchBurst(docker, dir);
  step('warm pool of 2 vs no pool, 30 sequential jobs each; a 40-job burst through a pool of 4 under a cap of 8');
  const warm = await benchWarmPool(docker, dir);
  step('controller memory, idle and at 50 jobs');
  const memory = await benchMemory(docker, dir);
  step('agent-lane overhead');
  const lane = await benchAgentLane();
  step("a job's own Docker engine: rootless and privileged sidecars against plain jobs");
  const jobDocker = await benchJobDocker(docker);

  const p = pickup.summary;
  const burstClean =
    burst.runnersCreated === burst.jobs &&
    burst.distinctRunnerNames === burst.jobs &&
    burst.jobsRunTwice === 0 &&
    burst.orphanContainers === 0 &&
    burst.orphanRunners === 0;
  const laneMedians = Object.entries(lane.medianMs);
  const jd = jobDocker.medianMs;
  // The cause's last words (the full message is printed under the table and kept in results.json).
  const notMeasured = (mode: string) => {
    const cause = jobDocker.failures.find((f) => f.startsWith(`${mode}:`));
    return `not measured: ${cause ? cause.trim().split(': ').slice(-3).join(': ') : 'no runs'}`;
  };
  const rows: string[][] = [
    [
      'Pickup, webhook sent → container started (Docker start event), median / p95 of 30',
      `${ms(p.controllerMedian)} / ${ms(p.controllerP95)}`,
      '',
      '',
    ],
    [
      '`docker run -d` of the same image, command and limits, median / p95 of 30',
      `${ms(p.dockerRunMedian)} / ${ms(p.dockerRunP95)}`,
      '',
      '',
    ],
    [
      'Pickup ratio, controller median / `docker run -d` median',
      `${p.ratio.toFixed(2)}×`,
      '≤ 1.2×',
      yes(p.ratio <= 1.2),
    ],
    [
      `Pickup, webhook sent → container started, \`backend: docker\`, median / p95 of ${backends.jobs}`,
      `${ms(backends.median.docker)} / ${ms(backends.p95.docker)}`,
      '',
      '',
    ],
    [
      `Pickup, webhook sent → container started, \`backend: swarm\` (single node), median / p95 of ${backends.jobs}`,
      `${ms(backends.median.swarm)} / ${ms(backends.p95.swarm)}`,
      '',
      '',
    ],
    [
      'Pickup ratio, swarm median / docker median',
      `${(backends.median.swarm / backends.median.docker).toFixed(2)}×`,
      '',
      '',
    ],
    [
      'Pickup as the controller measures it (webhook received → start call answered), median',
      ms(p.internalMedian),
      '',
      '',
    ],
    [
      `Burst, GitHub-style assignment: ${burst.jobs} one-second jobs, ${burst.deliveries} deliveries (duplicates mixed in), cap ${burst.cap}: time to drain`,
      `${round(burst.drainMs / 1000, 1)} s`,
      '',
      '',
    ],
    ['Burst: runners per job', `${round(burst.runnersPerJob, 2)}`, '1', yes(burst.runnersPerJob === 1)],
    [
      'Burst: runners created / jobs run twice / most job containers at once (Docker events)',
      `${burst.runnersCreated} / ${burst.jobsRunTwice} / ${burst.maxRunning}`,
      `${burst.jobs} / 0 / ≤ ${burst.cap}`,
      yes(burstClean && burst.maxRunning <= burst.cap),
    ],
    [
      'Burst: containers / GitHub runners left afterwards',
      `${burst.orphanContainers} / ${burst.orphanRunners}`,
      '0 / 0',
      yes(burst.orphanContainers === 0 && burst.orphanRunners === 0),
    ],
    [
      `Queued → in_progress (GitHub's view, stand-in clock), warm pool of 2, median / p95 of ${warm.jobs} sequential jobs (${warm.warmHits} warm hits)`,
      `${ms(warm.summary.warmMedian)} / ${ms(warm.summary.warmP95)}`,
      '',
      '',
    ],
    [
      `Queued → in_progress, no pool (cold start), median / p95 of ${warm.jobs}, alternated with the warm ones`,
      `${ms(warm.summary.coldMedian)} / ${ms(warm.summary.coldP95)}`,
      '',
      '',
    ],
    [
      'Queued → in_progress ratio, warm median / cold median',
      `${(warm.summary.ratio * 100).toFixed(1)}%`,
      '< 5%',
      yes(warm.summary.ratio < 0.05),
    ],
    [
      `Warm burst: ${warm.burst.jobs} one-second jobs through a pool of ${warm.burst.pool}, cap ${warm.burst.cap}: time to drain`,
      `${round(warm.burst.drainMs / 1000, 1)} s`,
      '',
      '',
    ],
    [
      'Warm burst: most job containers at once (Docker events) / jobs run twice',
      `${warm.burst.maxRunning} / ${warm.burst.jobsRunTwice}`,
      `≤ ${warm.burst.cap} / 0`,
      yes(warm.burst.maxRunning <= warm.burst.cap && warm.burst.jobsRunTwice === 0),
    ],
    [
      'Warm burst: runners registered (the pool refilled after the burst included) / per job',
      `${warm.burst.runnersRegistered} / ${round(warm.burst.runnersPerJob, 2)}`,
      `≤ ${warm.burst.jobs + warm.burst.pool} (jobs + min)`,
      yes(warm.burst.runnersRegistered <= warm.burst.jobs + warm.burst.pool),
    ],
    [
      'Warm burst: containers / GitHub runners left besides the idle pool',
      `${warm.burst.leftContainers} / ${warm.burst.leftRunners}`,
      '0 / 0',
      yes(warm.burst.leftContainers === 0 && warm.burst.leftRunners === 0),
    ],
    [
      'GitHub API calls per job on the webhook path',
      `${round(pickup.api.perJob, 2)}`,
      '≤ 2',
      yes(pickup.api.perJob <= 2),
    ],
    ['Controller RSS, idle', mb(memory.idleRssBytes), '', ''],
    [
      `Controller RSS with ${memory.jobs} jobs running (peak while they started)`,
      `${mb(memory.rssAtAllRunningBytes)} (${mb(memory.peakRssBytes)})`,
      '< 150 MB',
      yes(memory.peakRssBytes < 150 * MB),
    ],
    [`Time until all ${memory.jobs} jobs ran`, `${round(memory.msUntilAllRunning / 1000, 1)} s`, '', ''],
    ...(lane.present && laneMedians.length
      ? laneMedians.map(([agent, m]) => [
          `agent-lane: \`node dist/agent-lane/index.js\` → ${agent} CLI spawned, median of ${lane.runs[agent]!.length}`,
          ms(m),
          '< 300 ms',
          yes(m < 300),
        ])
      : [
          [
            'agent-lane overhead',
            lane.present ? `not measured: ${lane.failures.join('; ')}` : 'dist/agent-lane/index.js not built',
            '< 300 ms',
            '**missed**',
          ],
        ]),
    ['Node start to exit (`node -e ""`), the floor of any Node action', ms(lane.nodeFloorMs), '', ''],
    [
      `Plain job: launch → its container answers a command, median of ${jobDocker.runs.plain.length}`,
      jobDocker.runs.plain.length ? ms(jd.plain) : notMeasured('plain'),
      '',
      '',
    ],
    [
      `Own Docker engine, rootless sidecar: launch → \`docker info\` answers in the job's container, median of ${jobDocker.runs.rootless.length}`,
      jobDocker.runs.rootless.length
        ? `${ms(jd.rootless)} (${(jd.rootless / jd.plain).toFixed(2)}× plain, +${ms(jd.rootless - jd.plain)})`
        : notMeasured('rootless'),
      '',
      '',
    ],
    [
      `Own Docker engine, privileged sidecar: the same, median of ${jobDocker.runs.privileged.length}`,
      jobDocker.runs.privileged.length
        ? `${ms(jd.privileged)} (${(jd.privileged / jd.plain).toFixed(2)}× plain)`
        : notMeasured('privileged'),
      '',
      '',
    ],
    [
      'Own Docker engine, disk: sidecar image (once per host) / writable layer per job',
      `${mb(jobDocker.sidecarImageBytes)} / ${round(jobDocker.sidecarLayerBytes / 1024)} KiB`,
      '',
      '',
    ],
    [
      "Own Docker engine, storage (tmpfs: memory, not disk) at start / after a job's 2 MB `docker build`",
      `${mb(jobDocker.storageAtStartBytes)} / ${mb(jobDocker.storageAfterBuildBytes)}`,
      '',
      '',
    ],
    ...lane.bundles.map((b) => [
      `Bundle \`${b.file}\` (gzip)`,
      `${round(b.bytes / 1024)} KiB (${round(b.gzipBytes / 1024)} KiB)`,
      '',
      '',
    ]),
  ];
  const table = [
    '| measure | result | target | |',
    '| --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
  const machine = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryGiB: round(totalmem() / 1024 ** 3, 1),
    node: process.version,
    docker: execFileSync('docker', ['version', '--format', '{{.Server.Version}}']).toString().trim(),
  };
  const totalSeconds = round((Date.now() - started) / 1000, 1);
  process.stdout.write(
    `\n${table}\n\n${machine.cpus} CPU (${machine.cpuModel}), ${machine.memoryGiB} GiB, Node ${machine.node}, Docker ${machine.docker}; bench took ${totalSeconds} s.\n`,
  );
  if (lane.failures.length) process.stdout.write(`agent-lane: ${lane.failures.join('\n')}\n`);
  if (jobDocker.failures.length) process.stdout.write(`job docker: ${jobDocker.failures.join('\n')}\n`);
  writeFileSync(
    new URL('./results.json', import.meta.url),
    JSON.stringify(
      {
        at: new Date().toISOString(),
        machine,
        totalSeconds,
        pickup,
        backends,
        burst,
        warm,
        memory,
        agentLane: lane,
        jobDocker,
      },
      null,
      2,
    ) + '\n',
  );
  rmSync(dir, { recursive: true, force: true });
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
  process.exitCode = 1;
});
