// Brings the controller's picture back in line with Docker and GitHub: after a restart, after lost webhooks or
// Docker events, and for runners that never got a job or overran their time. It learns through the controller's
// snapshot and acts only through its verbs (adopt, restore a broker, clean up, mark busy, offer a queued job, delete an
// orphan).
import type { Config, OrgConfig } from '../config/config.js';
import { coversRepo } from '../config/repo-patterns.js';
import { orgApi, runnersAt, type RunnerScope } from '../github/runner-scope.js';
import type { Controller } from './controller.js';
import type { DockerState, DockerSubscriber } from '../docker/docker-watch.js';
import type { Engine, ManagedContainer } from '../docker/docker-engine.js';
import type { GitHubApi } from '../github/github-client.js';
import type { Logger } from '../observe/logger.js';
import { isOwnRunnerName } from './runner-spec.js';
import { finishJobFolder, listJobFolders } from '../lanes/job-folder.js';
import type { JobDocker } from '../docker/job-docker.js';
import { boundedAll } from '../util/bounded-all.js';

/** Config entries, and an org's covered repos, asked of GitHub at once in a pass. */
export const GITHUB_CONCURRENCY = 4;

export interface ReconcilerDeps {
  config: Config;
  controller: Controller;
  engine: Engine;
  jobDocker?: JobDocker;
  docker: DockerState;
  github: GitHubApi;
  log: Logger;
  now?: () => number;
}

export class Reconciler {
  private running: Promise<void> | undefined;
  /** Each org entry's covered repos as the last pass listed them: whose runner names and job folders are ours. */
  private readonly orgRepos = new Map<string, string[]>();
  /** Docker answers again: adopt and clean up before waiting jobs start (the service subscribes this first). */
  readonly dockerSubscriber: DockerSubscriber = { up: () => this.runOnce() };

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
    // The listing shows Docker as it was when asked (Swarm's takes three calls): the book may have moved on since.
    const mark = controller.bookMark();
    try {
      containers = await engine.listManaged();
    } catch (err) {
      if (!this.deps.docker.report(err)) log.error({ err: String(err) }, 'reconcile: listing containers failed');
      return;
    }
    // Adopt first, then let waiting jobs start: a job whose container survived an outage must not get a second one.
    const adopted = await this.syncContainers(containers, mark);
    await this.sweepJobFolders();
    await this.sweepJobDocker();
    // After the sweep, which serves their gateways' other relays again: the broker's relay joins them.
    await Promise.all(adopted.map((name) => controller.restoreBroker(name)));
    // Entries a few at a time: one repo's slow or failing GitHub answers (retried for seconds) must not hold up the
    // others, and a config of many repos must not burst GitHub's limits at start.
    const entries = [
      ...this.deps.config.repos.map((r) => ({
        where: { repo: r.repo },
        sync: () => this.syncRepo(r.repo),
      })),
      ...this.deps.config.orgs.map((o) => ({ where: { org: o.name }, sync: () => this.syncOrg(o) })),
    ];
    await boundedAll(entries, GITHUB_CONCURRENCY, async (e) => {
      if (controller.isStopping) return;
      await e
        .sync()
        .catch((err) => log.warn({ ...e.where, err: String(err?.message ?? err) }, 'reconcile: GitHub pass failed'));
    });
    if (controller.isStopping) return;
    this.enforceTimeouts();
    // What the pass learnt (adopted containers, runners GitHub lists busy, a clock past idleTimeout) moves the queue
    // and the warm pools on; at start, this is what first fills the pools.
    controller.pump();
  }

  /**
   * Every container of this instance that Docker lists is counted (adopted when unknown), so the caps hold what
   * Docker runs, not only what the controller remembers. A container is cleaned up only once Docker shows it exited:
   * `created` is a launch whose start has not answered yet. Returns the runners adopted running.
   */
  private async syncContainers(containers: ManagedContainer[], mark: number): Promise<string[]> {
    const { controller, log } = this.deps;
    const present = new Set<string>();
    const adopted: string[] = [];
    const cleanups: Promise<void>[] = [];
    for (const c of containers) {
      if (!c.identity) {
        log.warn({ container: c.name }, 'factory.managed container without complete labels: left alone');
        continue;
      }
      present.add(c.id);
      const known = controller.runnerOfContainer(c.id);
      if (!known && controller.hasRunner(c.identity.runnerName)) continue; // still launching: `docker run` has not answered
      // Cleaned up since the listing was asked for: adopting it would bring back a runner gone for good, holding the
      // claim of the job it was made for (which another runner holds now), and its cleanup would hand that claim back.
      if (!known && controller.changedSince(c.identity.runnerName, mark)) continue;
      if (!known) {
        controller.adopt(c.identity, c.id, c.createdAt);
        if (!c.exited) adopted.push(c.identity.runnerName);
      }
      if (c.exited)
        cleanups.push(
          controller.cleanUp(
            c.identity.runnerName,
            known ? 'container exited' : 'exited while the controller was away',
          ),
        );
    }
    for (const r of controller.snapshot().runners) {
      // A container that `docker run` gave after the listing was asked for may be missing from it, not gone.
      if (r.containerId && !present.has(r.containerId) && !controller.changedSince(r.identity.runnerName, mark))
        cleanups.push(controller.cleanUp(r.identity.runnerName, 'container vanished'));
    }
    await Promise.all(cleanups);
    return adopted;
  }

  /**
   * Job folders (auth copies) whose runner is gone: a launch cut short, a controller killed mid-cleanup. Only this
   * instance's: another instance may share the stateDir and its folders belong to live jobs.
   */
  private async sweepJobFolders(): Promise<void> {
    const { config, controller, log } = this.deps;
    // All at once: each folder's write-back is time-boxed, and one hostile folder must not hold up the others.
    const repos = [...config.repos.map((r) => r.repo), ...[...this.orgRepos.values()].flat()];
    const gone = (await listJobFolders(config)).filter(
      (runner) => !controller.hasRunner(runner) && repos.some((repo) => isOwnRunnerName(runner, repo, config.instance)),
    );
    await Promise.all(
      gone.map(async (runner) => {
        const results = await finishJobFolder(config, runner).catch(() => []);
        log.info(
          { runner, written: results.filter((r) => r.outcome === 'written').length },
          'removed the job folder of a runner that is gone',
        );
      }),
    );
  }

  /**
   * Docker sidecars and socket volumes whose runner is gone (after adoption, so a job that outlived a restart keeps
   * its engine). A launch in flight has its record before its sidecar starts, so its sidecar is never taken.
   */
  private async sweepJobDocker(): Promise<void> {
    const { jobDocker, controller, log } = this.deps;
    if (!jobDocker) return;
    try {
      const removed = await jobDocker.sweep((runner) => controller.hasRunner(runner));
      for (const runner of removed) log.info({ runner }, 'removed the Docker sidecar of a runner that is gone');
    } catch (err) {
      if (!this.deps.docker.report(err)) log.warn({ err: String(err) }, 'reconcile: Docker sidecar sweep failed');
    }
  }

  private async syncRepo(repo: string): Promise<void> {
    await this.sweepRunners({ kind: 'repo', repo }, [repo]);
    await this.pollQueued(repo);
  }

  /**
   * An org entry: its runners at the org, then the queued jobs of every repo it covers. GitHub has no org-wide list
   * of queued jobs, so the org's repos are listed and each covered one polled as a repo entry is.
   */
  private async syncOrg(org: OrgConfig): Promise<void> {
    const listed = await orgApi(this.deps.github, org.name).listRepos(org.name);
    const repos = listed.filter((r) => !r.archived && coversRepo(org, r.fullName)).map((r) => r.fullName);
    this.orgRepos.set(org.name.toLowerCase(), repos);
    await this.sweepRunners({ kind: 'org', org: org.name }, repos);
    // A few repos at a time: in parallel like repo entries, but an org of hundreds must not burst GitHub's limits.
    await boundedAll(repos, GITHUB_CONCURRENCY, async (repo) => {
      if (this.deps.controller.isStopping) return;
      await this.pollQueued(repo).catch((err) =>
        this.deps.log.warn({ repo, err: String(err?.message ?? err) }, 'reconcile: GitHub pass failed'),
      );
    });
  }

  /** Marks ours busy as GitHub says, and deletes our offline runners that have no record (named after one of `repos`). */
  private async sweepRunners(scope: RunnerScope, repos: string[]): Promise<void> {
    const { controller, github, log, config } = this.deps;
    const runners = await runnersAt(github, scope).list();
    for (const r of runners) {
      if (!repos.some((repo) => isOwnRunnerName(r.name, repo, config.instance))) continue;
      if (controller.hasRunner(r.name)) {
        if (r.busy) controller.markBusy(r.name);
      } else if (r.status === 'offline') {
        // Registered by us, no record behind it: a launch that died half-way, or a cleanup that missed GitHub. A
        // launch in flight always has a record (made before its JIT call), so it is never taken for one of these.
        const outcome = await controller.deleteOrphanRunner(scope, r.id);
        if (outcome === 'deleted')
          log.info({ ...scopeFields(scope), runner: r.name }, 'deleted orphan runner with no container');
      }
    }
  }

  private async pollQueued(repo: string): Promise<void> {
    const { controller, github, log } = this.deps;
    // A scale set's jobs are known by their runner requests, not the REST job ids; its listener offers what it holds.
    if (this.deps.config.intake === 'scaleset') return;
    const queued = await github.listQueuedJobs(repo);
    const now = (this.deps.now ?? Date.now)();
    let recovered = 0;
    for (const job of queued) if (controller.offerQueuedJob(repo, job.id, job.labels, now, 'poll')) recovered++;
    if (recovered > 0) log.info({ repo, recovered }, 'picked up queued jobs that no webhook announced');
  }

  private enforceTimeouts(): void {
    const { controller, config } = this.deps;
    const now = (this.deps.now ?? Date.now)();
    for (const r of controller.snapshot().runners) {
      if (!r.containerId) continue;
      // An idle warm runner waits for a job by design (its pool recycles it after idleTimeout); once it stands for a
      // job or runs one, both timeouts count from then.
      const since = r.warm ? (r.claimedAt ?? (r.busy ? r.startedAt : undefined)) : r.startedAt;
      if (since === undefined) continue;
      const age = now - since;
      if (!r.busy && age > config.bootTimeout)
        void controller.cleanUp(r.identity.runnerName, `no job within bootTimeout (${config.bootTimeout} ms)`);
      else if (age > config.jobTimeout)
        void controller.cleanUp(r.identity.runnerName, `exceeded jobTimeout (${config.jobTimeout} ms)`);
    }
  }
}

const scopeFields = (scope: RunnerScope) => (scope.kind === 'org' ? { org: scope.org } : { repo: scope.repo });
