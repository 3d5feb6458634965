// Brings the controller's picture back in line with Docker and GitHub: after a restart, after lost webhooks or
// Docker events, and for runners that never got a job or overran their time.
import type { Config } from '../config/config.js';
import type { Controller } from './controller.js';
import type { Engine, ManagedContainer } from '../docker/docker-engine.js';
import { isDockerDown } from '../docker/docker-engine.js';
import type { GitHubApi } from '../github/github-client.js';
import type { Logger } from '../observe/logger.js';
import { runnerPrefix } from './runner-spec.js';
import { finishJobFolder, listJobFolders } from '../lanes/job-folder.js';

export interface ReconcilerDeps {
  config: Config;
  controller: Controller;
  engine: Engine;
  github: GitHubApi;
  log: Logger;
  now?: () => number;
}

export class Reconciler {
  private running: Promise<void> | undefined;
  constructor(private readonly deps: ReconcilerDeps) {}

  applyConfig(config: Config): void {
    this.deps.config = config;
  }

  /** One pass; concurrent callers share the pass in progress. */
  runOnce(): Promise<void> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(): Promise<void> {
    const { engine, controller, log } = this.deps;
    let containers: ManagedContainer[];
    try {
      containers = await engine.listManaged();
    } catch (err) {
      if (isDockerDown(err)) controller.markDockerDown(err);
      else log.error({ err: String(err) }, 'reconcile: listing containers failed');
      return;
    }
    // Adopt first, then let waiting jobs start: a job whose container survived an outage must not get a second one.
    await this.syncContainers(containers);
    await this.sweepJobFolders();
    controller.markDockerUp();
    for (const repo of this.deps.config.repos) {
      if (controller.isStopping) return;
      await this.syncRepo(repo.repo).catch((err) => log.warn({ repo: repo.repo, err: String(err?.message ?? err) }, 'reconcile: GitHub pass failed'));
    }
    this.enforceTimeouts();
  }

  private async syncContainers(containers: ManagedContainer[]): Promise<void> {
    const { controller, log } = this.deps;
    const present = new Set<string>();
    const cleanups: Promise<void>[] = [];
    for (const c of containers) {
      if (!c.identity) {
        log.warn({ container: c.name }, 'factory.managed container without complete labels: left alone');
        continue;
      }
      present.add(c.id);
      const record = controller.runners.get(c.identity.runnerName);
      if (!record) {
        const adopted = controller.adopt(c.identity, c.id, c.createdAt);
        if (!c.running) cleanups.push(controller.cleanup(adopted, 'exited while the controller was away'));
      } else if (!c.running) cleanups.push(controller.cleanup(record, 'container exited'));
    }
    for (const record of controller.runners.values()) {
      if (record.containerId && !present.has(record.containerId)) cleanups.push(controller.cleanup(record, 'container vanished'));
    }
    await Promise.all(cleanups);
  }

  /** Job folders (auth copies) whose runner is gone: a launch cut short, a controller killed mid-cleanup. */
  private async sweepJobFolders(): Promise<void> {
    const { config, controller, log } = this.deps;
    // All at once: each folder's write-back is time-boxed, and one hostile folder must not hold up the others.
    const gone = (await listJobFolders(config)).filter((runner) => !controller.runners.has(runner));
    await Promise.all(gone.map(async (runner) => {
      const results = await finishJobFolder(config, runner).catch(() => []);
      log.info({ runner, written: results.filter((r) => r.outcome === 'written').length }, 'removed the job folder of a runner that is gone');
    }));
  }

  private async syncRepo(repo: string): Promise<void> {
    const { controller, github, log } = this.deps;
    const runners = await github.listRunners(repo);
    const ours = runnerPrefix(this.deps.config.instance);
    for (const r of runners) {
      if (!r.name.startsWith(ours)) continue;
      const record = controller.runners.get(r.name);
      if (record) {
        if (r.busy) record.busy = true;
      } else if (r.status === 'offline') {
        // Registered by us, no container behind it: a launch that died half-way, or a cleanup that missed GitHub.
        const outcome = await controller.deleteRunner(repo, r.id, log.child({ repo }));
        if (outcome === 'deleted') log.info({ repo, runner: r.name }, 'deleted orphan runner with no container');
      }
    }
    const queued = await github.listQueuedJobs(repo);
    const now = (this.deps.now ?? Date.now)();
    let recovered = 0;
    for (const job of queued) if (controller.offerQueuedJob(repo, job.id, job.labels, now, 'poll')) recovered++;
    if (recovered > 0) log.info({ repo, recovered }, 'picked up queued jobs that no webhook announced');
  }

  private enforceTimeouts(): void {
    const { controller, config } = this.deps;
    const now = (this.deps.now ?? Date.now)();
    for (const record of [...controller.runners.values()]) {
      if (!record.containerId || record.cleaning) continue;
      const age = now - record.startedAt;
      if (!record.busy && age > config.bootTimeout) void controller.cleanup(record, `no job within bootTimeout (${config.bootTimeout} ms)`);
      else if (age > config.jobTimeout) void controller.cleanup(record, `exceeded jobTimeout (${config.jobTimeout} ms)`);
    }
  }
}
