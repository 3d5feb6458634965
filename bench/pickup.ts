// 1. Pickup: a `queued` webhook sent to the controller until Docker reports its runner container started, next to
//    `docker run -d` of the same image, command and limits, and the Engine API's own create + start of the very
//    container the controller makes (its launch plan's spec, job folder binds included; no CLI), interleaved in the
//    same run. 2. The pickup by stage, from each job's timeline. 3. GitHub API calls per
//    job on that path.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import type { JobTimeline } from '../controller/observe/timeline.js';
import { loadConfig, type Config } from '../controller/config/config.js';
import { planLaunch } from '../controller/daemon/launch-plan.js';
import { withRegisteredRunner } from '../controller/daemon/runner-spec.js';
import { finishJobFolder, prepareJobFolder } from '../controller/lanes/job-folder.js';
import { BENCH_IMAGE, CI_LABELS, startBenchRun } from './controller-process.js';
import { StartEvents } from './docker-starts.js';
import { stageDurations, stageMedians, type PickupStage } from './pickup-stages.js';
import { median, p95 } from './stats.js';
import { waitUntil } from './wait-until.js';

const WARMUP = 2;
const BASELINE_LABEL = 'factory-bench=baseline';

export interface PickupResult {
  jobs: number;
  controllerMs: number[];
  /** The controller's own measure: webhook received to its start call answered, from the job timeline. */
  controllerInternalMs: number[];
  dockerRunMs: number[];
  /** `docker run -d` until the CLI returned (it returns once the container started). */
  dockerRunCliMs: number[];
  /** The Engine API's create + start of the same container (as dockerode sends them), until Docker's start event. */
  engineApiMs: number[];
  /** Each job's pickup by stage (pickup-stages.ts). */
  stages: Array<Partial<Record<PickupStage, number>>>;
  summary: {
    controllerMedian: number;
    controllerP95: number;
    dockerRunMedian: number;
    dockerRunP95: number;
    ratio: number;
    internalMedian: number;
    engineApiMedian: number;
    engineApiP95: number;
    /** Controller median / Engine API create + start median. */
    engineRatio: number;
    stageMedians: Partial<Record<PickupStage, number>>;
  };
  api: { calls: number; perJob: number; byRoute: Record<string, number> };
}

function run(cmd: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(code) : reject(new Error(`${cmd} ${args.slice(0, 2).join(' ')} exited ${code}`)),
    );
  });
}

/**
 * The controller's own container for a job of the bench's profile, built by the controller's launch plan from the
 * same factory.yml (image, user, env, labels, limits, hardening, its job folder's binds), with its job folder made as
 * the launcher makes it, outside the timing. Only its instance differs, so the controller neither adopts nor watches it.
 */
async function engineContainer(config: Config, repo: string, jitConfig: string) {
  const profile = config.profiles.ci!;
  const job = { key: '1', limits: [], jobId: 1, repo, profileName: 'ci', profile, receivedAt: Date.now() };
  const plan = planLaunch(config, job, [], randomBytes(3).toString('hex'));
  await prepareJobFolder(config, 'ci', profile, plan.identity.runnerName);
  const spec = withRegisteredRunner(plan.container, 1, jitConfig) as Docker.ContainerCreateOptions;
  return { name: plan.identity.runnerName, spec };
}

/** The runner container exactly as the controller's profile creates it, by the docker CLI. */
function dockerRunArgs(name: string, jitConfig: string): string[] {
  return [
    'run',
    '-d',
    '--name',
    name,
    '--label',
    BASELINE_LABEL,
    '--cpus',
    '0.5',
    '--memory',
    '64m',
    '--pids-limit',
    '64',
    '--network',
    'host',
    '--security-opt',
    'no-new-privileges',
    '--init',
    '-e',
    `ACTIONS_RUNNER_INPUT_JITCONFIG=${jitConfig}`,
    BENCH_IMAGE,
  ];
}

export async function benchPickup(docker: Docker, dir: string, jobs = 30): Promise<PickupResult> {
  const controller = await startBenchRun({ docker, dir, name: 'pickup', maxConcurrent: 4, jobSeconds: 0.2 });
  const { standin } = controller;
  const events = await StartEvents.open(docker).catch(async (err) => {
    await controller.stop();
    throw err;
  });
  const loaded = await loadConfig(controller.configFile);
  if (!loaded.ok) {
    events.close();
    await controller.stop();
    throw new Error(`${controller.configFile}: ${loaded.problems.join('; ')}`);
  }
  const baselineInstance = `${controller.instance}-engine`;
  const baselineConfig: Config = {
    ...loaded.config,
    instance: baselineInstance,
    stateDir: `${dir}/pickup-engine-state`,
  };
  // The baseline runner polls a runner id the stand-in does not know, so it idles like a runner waiting for a job.
  const idleJit = Buffer.from(JSON.stringify({ '.standin': { url: `${standin.url}/_standin/runners/0` } })).toString(
    'base64',
  );
  const result: PickupResult = {
    jobs,
    controllerMs: [],
    controllerInternalMs: [],
    dockerRunMs: [],
    dockerRunCliMs: [],
    engineApiMs: [],
    stages: [],
    summary: {
      controllerMedian: 0,
      controllerP95: 0,
      dockerRunMedian: 0,
      dockerRunP95: 0,
      ratio: 0,
      internalMedian: 0,
      engineApiMedian: 0,
      engineApiP95: 0,
      engineRatio: 0,
      stageMedians: {},
    },
    api: { calls: 0, perJob: 0, byRoute: {} },
  };
  let firstExchange = standin.exchanges.length;
  try {
    for (let i = 0; i < WARMUP + jobs; i++) {
      const counted = i >= WARMUP;
      if (i === WARMUP) firstExchange = standin.exchanges.length;
      // Alternate the two so drift on this shared machine touches both alike.
      const sent = Date.now();
      const jobId = await standin.queueJob(controller.repo, CI_LABELS);
      const started = await events.wait(
        `job ${jobId}`,
        (a) => a['factory.instance'] === controller.instance && a['factory.job-id'] === String(jobId),
      );
      await waitUntil(
        `job ${jobId} to finish and be cleaned`,
        async () => standin.jobs.get(jobId)?.status === 'completed' && (await controller.status()).running.length === 0,
      );
      const timeline = (await (await fetch(`${controller.statusUrl}/jobs/${jobId}`)).json()) as JobTimeline;
      const at = (stage: string) => timeline.events.find((e) => e.stage === stage)?.at ?? NaN;
      if (counted) {
        result.controllerMs.push(started - sent);
        result.controllerInternalMs.push(at('container-started') - at('queued'));
        result.stages.push(stageDurations(timeline));
      }

      const engine = await engineContainer(baselineConfig, controller.repo, idleJit);
      const apiSent = Date.now();
      const created = await docker.createContainer(engine.spec);
      await created.start();
      const apiStarted = await events.wait(engine.name, (a) => a.name === engine.name);
      await created.remove({ force: true });
      await finishJobFolder(baselineConfig, engine.name);
      if (counted) result.engineApiMs.push(apiStarted - apiSent);

      const name = `factory-bench-baseline-${randomBytes(3).toString('hex')}`;
      const spawned = Date.now();
      await run('docker', dockerRunArgs(name, idleJit));
      const returned = Date.now();
      const baselineStarted = await events.wait(name, (a) => a.name === name);
      await run('docker', ['rm', '-f', name]);
      if (counted) {
        result.dockerRunMs.push(baselineStarted - spawned);
        result.dockerRunCliMs.push(returned - spawned);
      }
    }
    const exchanges = standin.exchanges.slice(firstExchange).filter((x) => !x.path.startsWith('/_standin/'));
    for (const x of exchanges) {
      const route = `${x.method} ${x.path.replace(/\/repos\/[^/]+\/[^/]+/, '/repos/{owner}/{repo}').replace(/\/\d+/g, '/{id}')} ${x.status}`;
      result.api.byRoute[route] = (result.api.byRoute[route] ?? 0) + 1;
    }
    result.api.calls = exchanges.length;
    result.api.perJob = exchanges.length / jobs;
  } finally {
    events.close();
    // Label filters are ANDed: the CLI's baselines and the Engine API's are listed apart.
    const baselines = (
      await Promise.all(
        [BASELINE_LABEL, `factory.instance=${baselineInstance}`].map((label) =>
          docker.listContainers({ all: true, filters: JSON.stringify({ label: [label] }) }),
        ),
      )
    ).flat();
    await Promise.all(
      baselines.map((c) =>
        docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => {}),
      ),
    );
    await controller.stop();
  }
  const s = result.summary;
  s.controllerMedian = median(result.controllerMs);
  s.controllerP95 = p95(result.controllerMs);
  s.dockerRunMedian = median(result.dockerRunMs);
  s.dockerRunP95 = p95(result.dockerRunMs);
  s.ratio = s.controllerMedian / s.dockerRunMedian;
  s.internalMedian = median(result.controllerInternalMs);
  s.engineApiMedian = median(result.engineApiMs);
  s.engineApiP95 = p95(result.engineApiMs);
  s.engineRatio = s.controllerMedian / s.engineApiMedian;
  s.stageMedians = stageMedians(result.stages);
  return result;
}
