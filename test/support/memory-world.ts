// The controller and reconciler wired as the service wires them, against the in-memory engine and GitHub model, with
// a clock the test moves. No Docker, no HTTP: a scenario runs in milliseconds.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema, type Config } from '../../controller/config/config.js';
import { Controller } from '../../controller/daemon/controller.js';
import { Reconciler } from '../../controller/daemon/reconciler.js';
import { DockerWatch } from '../../controller/docker/docker-watch.js';
import type { JobStage } from '../../controller/model/job.js';
import { silentLogger } from '../../controller/observe/logger.js';
import { GitHubModel } from './github-model.js';
import { MemoryEngine } from './memory-engine.js';

export const REPO = 'org/app';
export const LABELS = ['self-hosted', 'factory', 'ci'];

export interface MemoryWorld {
  config: Config;
  clock: { t: number };
  engine: MemoryEngine;
  github: GitHubModel;
  docker: DockerWatch;
  controller: Controller;
  reconciler: Reconciler;
  stages: Array<{ jobId: number; stage: JobStage; runnerName?: string }>;
  /** Lets every pending promise, timer and file operation run. */
  settle(rounds?: number): Promise<void>;
  /** Settles until `check` holds (the watch's reconnect runs on a real timer); fails naming `what` after 5 s. */
  until(what: string, check: () => boolean): Promise<void>;
  jobFolders(): string[];
  dispose(): Promise<void>;
}

export async function memoryWorld(
  opts: { cap?: number; config?: Record<string, unknown>; finishedJobs?: number[] } = {},
): Promise<MemoryWorld> {
  const stateDir = mkdtempSync(join(tmpdir(), 'factory-memory-'));
  const cap = opts.cap ?? 8;
  const config = configSchema.parse({
    github: { auth: { tokenEnv: 'T' }, webhook: { secret: { env: 'S' } } },
    instance: 'mem',
    maxConcurrent: cap,
    stateDir,
    profiles: { ci: { labels: LABELS, image: 'factory-test/runner:1', network: 'none' } },
    repos: [{ repo: REPO, profiles: ['ci'], maxConcurrent: cap }],
    ...opts.config,
  });
  const clock = { t: 1_700_000_000_000 };
  const now = () => clock.t;
  const log = silentLogger();
  const engine = new MemoryEngine(now);
  const docker = new DockerWatch(engine, log, 20);
  const stages: MemoryWorld['stages'] = [];
  let controller: Controller | undefined;
  const github = new GitHubModel((d) => controller!.handleJob(d));
  controller = new Controller({
    config,
    github,
    engine,
    docker,
    log,
    now,
    observer: {
      stage: (jobId, stage, f) =>
        void stages.push({ jobId, stage, ...(f.runnerName ? { runnerName: f.runnerName } : {}) }),
    },
    ...(opts.finishedJobs ? { finishedJobs: opts.finishedJobs } : {}),
  });
  // A container that stops ends its runner process: GitHub sees the runner go offline, or its job fail.
  engine.onStop = (c) => github.died(c.name);
  const reconciler = new Reconciler({ config, controller, engine, docker, github, log, now });
  docker.subscribe(reconciler.dockerSubscriber);
  docker.subscribe(controller.dockerSubscriber);
  await docker.connect();
  const world: MemoryWorld = {
    config,
    clock,
    engine,
    github,
    docker,
    controller,
    reconciler,
    stages,
    async settle(rounds = 60) {
      // Mostly event-loop turns (the model's calls each take one); now and then a timer turn, so file operations on
      // the thread pool (job folders) and the watch's reconnect timer get through too.
      for (let i = 0; i < rounds; i++) await new Promise((r) => (i % 10 === 9 ? setTimeout(r, 0) : setImmediate(r)));
    },
    async until(what, check) {
      const deadline = Date.now() + 5_000;
      while (!check()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await world.settle();
      }
    },
    jobFolders: () => {
      try {
        return readdirSync(join(stateDir, 'jobs'));
      } catch {
        return [];
      }
    },
    async dispose() {
      docker.close();
      await controller!.stop();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
  return world;
}
