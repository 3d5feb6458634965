// `npm run bench`: the speed and memory figures of docs/benchmarks.md, against the real Docker engine and the loopback GitHub stand-in.
// Prints a Markdown table (the one in docs/benchmarks.md) and writes bench/results.json. Never part of `npm test`.
// Exits non-zero when a target is missed; `--report-only` only prints. `--only lane,burst` runs those sections alone.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { ensureStandinImages } from '../controller/commands/demo.js';
import { benchAgentLane } from './agent-lane.js';
import { benchBackendPickup } from './backend-pickup.js';
import { benchBroker, type BrokerLatency } from './broker.js';
import { benchBurst } from './burst.js';
import { benchEgress } from './egress.js';
import { benchEgressPickup } from './egress-pickup.js';
import { benchIntakePickup } from './intake-pickup.js';
import { ensureLocalBase } from '../test/support/local-base.js';
import { benchMemory } from './memory.js';
import { benchJobDocker } from './job-docker.js';
import { laneRows, missedRows, MISSED, type Row } from './lane-table.js';
import { benchPickup } from './pickup.js';
import { benchPreflight } from './preflight.js';
import { benchWarmPool } from './warm-pool.js';
import { benchLanePickup } from './lane-pickup.js';
import { stagesText } from './pickup-stages.js';
import { round } from './stats.js';

const MB = 1024 * 1024;
const ms = (n: number) => `${Math.round(n)} ms`;
const mb = (n: number) => `${round(n / MB, 1)} MB`;
const yes = (ok: boolean) => (ok ? 'met' : MISSED);

interface SectionContext {
  docker: Docker;
  dir: string;
}

interface SectionOutcome {
  rows: Row[];
  result: unknown;
  /** Printed under the table: why something was not measured. */
  notes?: string[];
}

interface Section {
  name: string;
  /** What stderr says while it runs. */
  step: string;
  docker: boolean;
  run(ctx: SectionContext): Promise<SectionOutcome>;
}

const SECTIONS: Section[] = [
  {
    name: 'pickup',
    step: 'pickup latency, 30 jobs, and docker run -d of the same container; then per backend, 20 jobs each',
    docker: true,
    run: async ({ docker, dir }) => {
      const pickup = await benchPickup(docker, dir);
      const backends = await benchBackendPickup(docker, dir);
      const p = pickup.summary;
      return {
        result: { pickup, backends },
        rows: [
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
            'Engine API create + start of the same container (no CLI), median / p95 of 30, interleaved',
            `${ms(p.engineApiMedian)} / ${ms(p.engineApiP95)}`,
            '',
            '',
          ],
          [
            'Cold pickup ratio, controller median / Engine API create + start median',
            `${p.engineRatio.toFixed(2)}×`,
            '≤ 1.1×',
            yes(p.engineRatio <= 1.1),
          ],
          [
            'Pickup by stage, cold plain job, medians (each from the stage before, queued first)',
            stagesText(p.stageMedians),
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
            'GitHub API calls per job on the webhook path',
            `${round(pickup.api.perJob, 2)}`,
            '≤ 2',
            yes(pickup.api.perJob <= 2),
          ],
        ],
      };
    },
  },
  {
    name: 'intake',
    step: 'pickup per intake: webhook vs runner scale sets (long poll), one stand-in, 20 jobs each, alternated',
    docker: true,
    run: async ({ docker, dir }) => {
      const intake = await benchIntakePickup(docker, dir);
      return {
        result: intake,
        rows: [
          [
            `Queued → in_progress (stand-in clock), \`intake: webhook\`, median / p95 of ${intake.jobs}`,
            `${ms(intake.median.webhook)} / ${ms(intake.p95.webhook)}`,
            '',
            '',
          ],
          [
            `Queued → in_progress, \`intake: scaleset\` (no inbound port; ${intake.longPollMs / 1000} s long poll), median / p95 of ${intake.jobs}, alternated`,
            `${ms(intake.median.scaleset)} / ${ms(intake.p95.scaleset)}`,
            '',
            '',
          ],
          ['Queued → in_progress ratio, scaleset median / webhook median', `${intake.ratio.toFixed(2)}×`, '', ''],
        ],
      };
    },
  },
  {
    name: 'burst',
    step: 'burst of 100 jobs under a cap of 8',
    docker: true,
    run: async ({ docker, dir }) => {
      const burst = await benchBurst(docker, dir);
      const clean =
        burst.runnersCreated === burst.jobs &&
        burst.distinctRunnerNames === burst.jobs &&
        burst.jobsRunTwice === 0 &&
        burst.orphanContainers === 0 &&
        burst.orphanRunners === 0;
      return {
        result: burst,
        rows: [
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
            yes(clean && burst.maxRunning <= burst.cap),
          ],
          [
            'Burst: containers / GitHub runners left afterwards',
            `${burst.orphanContainers} / ${burst.orphanRunners}`,
            '0 / 0',
            yes(burst.orphanContainers === 0 && burst.orphanRunners === 0),
          ],
        ],
      };
    },
  },
  {
    name: 'warm',
    step: 'warm pool of 2 vs no pool, 30 sequential jobs each; a 40-job burst through a pool of 4 under a cap of 8',
    docker: true,
    run: async ({ docker, dir }) => {
      const warm = await benchWarmPool(docker, dir);
      return {
        result: warm,
        rows: [
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
        ],
      };
    },
  },
  {
    name: 'warm-lane',
    step: 'a codex lane (login taken at the release): warm pool of 1 vs no pool, 20 sequential jobs each',
    docker: true,
    run: async ({ docker, dir }) => {
      const lane = await benchLanePickup(docker, dir);
      const { warm, cold } = lane;
      return {
        result: lane,
        rows: [
          [
            `Lane queued → in_progress (stand-in clock), warm pool of 1, median / p95 of ${lane.jobs} (${warm.warmHits} warm hits)`,
            `${ms(warm.median.inProgress)} / ${ms(warm.p95.inProgress)}`,
            '',
            '',
          ],
          [
            `Lane queued → in_progress, no pool (cold), median / p95 of ${lane.jobs}, alternated`,
            `${ms(cold.median.inProgress)} / ${ms(cold.p95.inProgress)}`,
            '',
            '',
          ],
          [
            'Lane queued → in_progress ratio, warm median / cold median',
            `${(lane.ratio.inProgress * 100).toFixed(1)}%`,
            '< 5%',
            yes(lane.ratio.inProgress < 0.05),
          ],
          [
            'Lane queued → released (verified, login taken, credentials written), warm / cold median',
            `${ms(warm.median.released)} / ${ms(cold.median.released)} (${(lane.ratio.released * 100).toFixed(1)}%)`,
            '',
            '',
          ],
          ['Lane pickup by stage, warm, medians', stagesText(warm.stageMedians), '', ''],
          ['Lane pickup by stage, cold, medians', stagesText(cold.stageMedians), '', ''],
        ],
      };
    },
  },
  {
    name: 'memory',
    step: 'controller memory, idle and at 50 jobs',
    docker: true,
    run: async ({ docker, dir }) => {
      const memory = await benchMemory(docker, dir);
      return {
        result: memory,
        rows: [
          ['Controller RSS, idle', mb(memory.idleRssBytes), '', ''],
          [
            `Controller RSS with ${memory.jobs} jobs running (peak while they started)`,
            `${mb(memory.rssAtAllRunningBytes)} (${mb(memory.peakRssBytes)})`,
            '< 150 MB',
            yes(memory.peakRssBytes < 150 * MB),
          ],
          [`Time until all ${memory.jobs} jobs ran`, `${round(memory.msUntilAllRunning / 1000, 1)} s`, '', ''],
        ],
      };
    },
  },
  {
    name: 'egress',
    step: 'egress: pickup with and without a gateway (20 jobs each, alternated), its cold start, its added latency',
    docker: true,
    run: async ({ docker, dir }) => {
      const image = await ensureLocalBase(docker);
      const pickup = await benchEgressPickup(docker, dir, image);
      const gateway = await benchEgress(docker, dir);
      return {
        result: { pickup, gateway },
        rows: [
          [
            `Pickup without \`egress\` (bridge), webhook sent → container started, median / p95 of ${pickup.jobs}`,
            `${ms(pickup.median.plain)} / ${ms(pickup.p95.plain)}`,
            '',
            '',
          ],
          [
            `Pickup with \`egress\` (a spare gateway claimed), the same, median / p95 of ${pickup.jobs}, alternated`,
            `${ms(pickup.median.egress)} / ${ms(pickup.p95.egress)} (+${ms(pickup.addedMs)})`,
            '≤ +300 ms',
            yes(pickup.addedMs <= 300),
          ],
          [
            `Egress gateway started cold (network, relays, container, serving), median / max of ${gateway.starts}`,
            `${ms(gateway.gatewayReadyMs.median)} / ${ms(gateway.gatewayReadyMs.max)}`,
            '',
            '',
          ],
          [
            `Egress proxy, added latency per HTTP request on a fresh connection, median of ${gateway.requests}`,
            `${round(gateway.addedMedianMs, 2)} ms (${round(gateway.proxiedMs.median, 2)} ms proxied, ${round(gateway.directMs.median, 2)} ms direct)`,
            '< 5 ms',
            yes(gateway.addedMedianMs < 5),
          ],
        ],
      };
    },
  },
  {
    name: 'lane',
    step: 'agent-lane start: stand-in CLIs, then the real claude and codex against the loopback model',
    docker: false,
    run: async () => {
      const lane = await benchAgentLane();
      return {
        result: lane,
        rows: [
          ...laneRows(lane),
          ...lane.bundles.map((b): Row => [
            `Bundle \`${b.file}\`, parsed at start (gzip) / with the chunks it loads when needed`,
            `${round(b.bytes / 1024)} KiB (${round(b.gzipBytes / 1024)} KiB) / ${round(b.allBytes / 1024)} KiB`,
            '',
            '',
          ]),
        ],
        notes: lane.failures.map((f) => `agent-lane: ${f}`),
      };
    },
  },
  {
    name: 'preflight',
    step: 'the lane pre-flight: 13 stand-in MCP servers asked initialize and tools/list, all at once and one by one',
    docker: false,
    run: async () => {
      const pf = await benchPreflight();
      return {
        result: pf,
        rows: [
          [
            `Lane pre-flight, login + ${pf.servers} MCP servers (${pf.stdio} stdio, ${pf.http} http) at once, median of ${pf.concurrentMs.length}`,
            ms(pf.medianMs.concurrent),
            '< 3000 ms',
            pf.medianMs.concurrent < 3000 ? 'met' : MISSED,
          ],
          [
            `Baseline: the same ${pf.servers} servers asked one after another, median of ${pf.sequentialMs.length}`,
            ms(pf.medianMs.sequential),
            '',
            '',
          ],
        ],
      };
    },
  },
  {
    name: 'broker',
    step: "brokers: 300 model, MCP (token, oauth) and gh requests each, direct and through the job's brokers, interleaved",
    docker: false,
    run: async () => {
      const b = await benchBroker();
      // `title` opens the first row, `upstream` closes it; `what` names the request in the second.
      const pair = (title: string, upstream: string, what: string, l: BrokerLatency): Row[] => [
        [
          `${title} direct / through the job's broker, median of ${l.requests} each (${upstream})`,
          `${l.directMedianMs} ms / ${l.brokerMedianMs} ms`,
          '',
          '',
        ],
        [
          `Broker's added latency per ${what}, median / p95 of the paired differences`,
          `${l.addedMedianMs} ms / ${l.addedP95Ms} ms`,
          '< 5 ms median',
          yes(l.addedMedianMs < 5),
        ],
      ];
      return {
        result: b,
        rows: [
          ...pair('Model request', 'loopback fake model', 'model request', b.model),
          ...pair('MCP tools/list, credential: token,', 'loopback server', 'MCP request, token server', b.mcpToken),
          ...pair('MCP tools/list, credential: oauth,', 'loopback server', 'MCP request, oauth server', b.mcpOAuth),
          ...pair('gh GET /user over its socket,', 'loopback GitHub API', 'gh API request', b.gh),
        ],
      };
    },
  },
  {
    name: 'job-docker',
    step: "a job's own Docker engine: rootless and privileged sidecars against plain jobs",
    docker: true,
    run: async ({ docker }) => {
      const jobDocker = await benchJobDocker(docker);
      const jd = jobDocker.medianMs;
      // The cause's last words (the full message is printed under the table and kept in results.json).
      const notMeasured = (mode: string) => {
        const cause = jobDocker.failures.find((f) => f.startsWith(`${mode}:`));
        return `not measured: ${cause ? cause.trim().split(': ').slice(-3).join(': ') : 'no runs'}`;
      };
      return {
        result: jobDocker,
        notes: jobDocker.failures.map((f) => `job docker: ${f}`),
        rows: [
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
            "Own Docker engine, storage (tmpfs: memory, not disk) at start / after a job's 2 MB \`docker build\`",
            `${mb(jobDocker.storageAtStartBytes)} / ${mb(jobDocker.storageAfterBuildBytes)}`,
            '',
            '',
          ],
        ],
      };
    },
  },
];

interface BenchArgs {
  sections: Section[];
  reportOnly: boolean;
}

/** `--only a,b` (or repeated), `--report-only`; anything else is an error that names it. */
function parseBenchArgs(argv: string[]): BenchArgs {
  const names = SECTIONS.map((s) => s.name);
  const only: string[] = [];
  let reportOnly = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--report-only') reportOnly = true;
    else if (arg === '--only' || arg.startsWith('--only=')) {
      const value = arg === '--only' ? argv[++i] : arg.slice('--only='.length);
      if (!value) throw new Error(`--only: expected one or more of ${names.join(', ')}`);
      only.push(...value.split(','));
    } else
      throw new Error(`unknown argument ${JSON.stringify(arg)}: expected --only <${names.join('|')}> or --report-only`);
  }
  for (const name of only)
    if (!names.includes(name))
      throw new Error(`--only: no section ${JSON.stringify(name)}; sections: ${names.join(', ')}`);
  return { sections: only.length ? SECTIONS.filter((s) => only.includes(s.name)) : SECTIONS, reportOnly };
}

async function main(): Promise<void> {
  const args = parseBenchArgs(process.argv.slice(2));
  const started = Date.now();
  const usesDocker = args.sections.some((s) => s.docker);
  const docker = new Docker({ socketPath: '/var/run/docker.sock' });
  if (usesDocker) await ensureStandinImages();
  const dir = mkdtempSync(join(tmpdir(), 'factory-bench-'));
  const rows: Row[] = [];
  const notes: string[] = [];
  const results: Record<string, unknown> = {};
  try {
    for (const section of args.sections) {
      process.stderr.write(`bench: ${section.step} (${Math.round((Date.now() - started) / 1000)} s so far)\n`);
      const outcome = await section.run({ docker, dir });
      rows.push(...outcome.rows);
      notes.push(...(outcome.notes ?? []));
      results[section.name] = outcome.result;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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
    docker: usesDocker
      ? execFileSync('docker', ['version', '--format', '{{.Server.Version}}']).toString().trim()
      : 'not used',
  };
  const totalSeconds = round((Date.now() - started) / 1000, 1);
  process.stdout.write(
    `\n${table}\n\n${machine.cpus} CPU (${machine.cpuModel}), ${machine.memoryGiB} GiB, Node ${machine.node}, Docker ${machine.docker}; bench took ${totalSeconds} s.\n`,
  );
  for (const note of notes) process.stdout.write(`${note}\n`);
  writeFileSync(
    new URL('./results.json', import.meta.url),
    JSON.stringify({ at: new Date().toISOString(), machine, totalSeconds, ...results }, null, 2) + '\n',
  );
  const missed = missedRows(rows);
  if (missed.length) {
    process.stdout.write(
      `\n${missed.length} target(s) missed:\n${missed.map((r) => `- ${r[0]}: ${r[1]}`).join('\n')}\n`,
    );
    if (!args.reportOnly) process.exitCode = 1;
  }
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
  process.exitCode = 1;
});
