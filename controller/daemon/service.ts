// The composition root: builds the parts (GitHub, Docker and its watch, controller, reconciler, observers), wires
// them, starts the public and status servers and the reconcile timer. Everything outside (GitHub, Docker, the log)
// can be passed in, so tests and the demo run the same wiring as production.
import { join } from 'node:path';
import type { Config } from '../config/config.js';
import { readSecretRef } from '../config/secret-ref.js';
import { restartOnlyChanges } from '../config/config-reload.js';
import { Controller } from './controller.js';
import type { Engine } from '../docker/docker-engine.js';
import { engineFor, jobDockerFor } from '../docker/engine-for.js';
import type { JobDocker } from '../docker/job-docker.js';
import { DockerWatch } from '../docker/docker-watch.js';
import { gitHubClient, type GitHubApi, type GitHubClientOptions } from '../github/github-client.js';
import { GitHubHealth } from '../github/github-health.js';
import { Housekeeper } from '../housekeeping/housekeeper.js';
import Docker from 'dockerode';
import type { JobObserver } from '../model/job.js';
import { parseWorkflowJob, type WorkflowJobDelivery } from '../model/workflow-job.js';
import { JobDetails } from '../status/job-details.js';
import type { Logger } from '../observe/logger.js';
import { Metrics } from '../observe/metrics.js';
import { countingEngine } from '../docker/counting-engine.js';
import { apiObservers, jobObservers } from '../observe/observers.js';
import { startStatusServer } from '../status/status-server.js';
import { statusSnapshot } from '../status/status-snapshot.js';
import { TimelineStore } from '../observe/timeline-store.js';
import { missingNetworks } from './network-check.js';
import { matchProfile } from './profile-match.js';
import { startPublicServer } from './public-server.js';
import { Reconciler } from './reconciler.js';
import type { WebhookEvent } from '../model/webhook-event.js';

const POOL_TICK_MS = 1_000;

export interface ServiceOptions {
  /** Jobs' own Docker engines; unset: on the config's engine when its backend is docker (docs/job-docker.md). */
  jobDocker?: JobDocker;
  config: Config;
  log: Logger;
  env?: NodeJS.ProcessEnv;
  engine?: Engine;
  github?: GitHubApi;
  githubOptions?: GitHubClientOptions;
  observer?: JobObserver;
  /** Upper bound of the Docker reconnect backoff. */
  maxDockerBackoffMs?: number;
  /** The controller's and reconciler's clock (timeouts, warm pools' idleTimeout and schedule); Date.now unless told. */
  now?: () => number;
  /** How often a busy lane runner with no in_progress delivery is looked up (the bound on a lost delivery). */
  assignmentPollMs?: number;
}

/** A lost in_progress delays a lane job's credentials by at most this, plus one lookup. */
export const ASSIGNMENT_POLL_MS = 10_000;

export interface Service {
  /** Base URL of the HTTP server (webhook path and /healthz). */
  url: string;
  /** Base URL of the operator's endpoint (/metrics, /status, /jobs/ID). */
  statusUrl: string;
  controller: Controller;
  reconciler: Reconciler;
  metrics: Metrics;
  timeline: TimelineStore;
  github: GitHubHealth;
  housekeeper: Housekeeper;
  /** Applies an edited config live; returns the keys that differ but need a restart (then nothing is applied). */
  applyConfig(next: Config): string[];
  /** Like applyConfig, and first refuses a config whose profiles name Docker networks that do not exist. */
  reloadConfig(next: Config): Promise<string[]>;
  stop(): Promise<void>;
}

export function resolveWebhookSecret(config: Config, env: NodeJS.ProcessEnv): Promise<string> {
  return readSecretRef(config.github.webhook.secret, env, {
    env: 'github.webhook.secret.env',
    file: 'github.webhook.secret.file',
  });
}

/** Throws when a profile names a Docker network that does not exist; says nothing while Docker does not answer. */
async function refuseMissingNetworks(config: Config, engine: Engine): Promise<string[]> {
  const problems = await missingNetworks(config, engine).catch(() => []);
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return problems;
}

export async function startService(opts: ServiceOptions): Promise<Service> {
  const { config, log } = opts;
  const env = opts.env ?? process.env;
  const secret = await resolveWebhookSecret(config, env);
  const metrics = new Metrics(config);
  const health = new GitHubHealth();
  const apiObserver = apiObservers(metrics, health, opts.githubOptions?.observer);
  metrics.watchGitHub(health);
  const housekeeper = new Housekeeper(config, new Docker({ socketPath: config.docker.socketPath }), log);
  metrics.watchHousekeeping(housekeeper);
  const details = new JobDetails();
  const github =
    opts.github ?? (await gitHubClient(config, env, log, { ...opts.githubOptions, observer: apiObserver }));
  let current = config;
  const engine = countingEngine(opts.engine ?? engineFor(config, () => current), metrics);
  await refuseMissingNetworks(config, engine);
  const timeline = new TimelineStore(join(config.stateDir, `timeline-${config.instance}.jsonl`), log);
  const observer = jobObservers(log, metrics, timeline, opts.observer);
  const docker = new DockerWatch(engine, log, opts.maxDockerBackoffMs ?? 15_000);
  const sidecars = opts.jobDocker ?? jobDockerFor(config);
  const controller = new Controller({
    config,
    github,
    engine,
    ...(sidecars ? { jobDocker: sidecars } : {}),
    docker,
    log,
    observer,
    finishedJobs: timeline.completedJobs(),
    ...(opts.now ? { now: opts.now } : {}),
  });
  const reconciler = new Reconciler({
    config,
    controller,
    engine,
    ...(sidecars ? { jobDocker: sidecars } : {}),
    docker,
    github,
    log,
    ...(opts.now ? { now: opts.now } : {}),
  });
  controller.startAssignmentPoll(opts.assignmentPollMs ?? ASSIGNMENT_POLL_MS);
  // The reconciler first: containers that survived an outage are adopted before waiting jobs start.
  docker.subscribe(reconciler.dockerSubscriber);
  docker.subscribe(controller.dockerSubscriber);
  metrics.watch(controller);

  // Org entries report under the org's name: their runner calls are the org's, not one repo's.
  const githubHealth = () => health.snapshot([...current.repos.map((r) => r.repo), ...current.orgs.map((o) => o.name)]);
  const status = await startStatusServer(config.status.host, config.status.port, {
    metrics: async () => ({ contentType: metrics.contentType, text: await metrics.text() }),
    status: () => {
      const s = controller.snapshot();
      return statusSnapshot({
        config: current,
        runners: s.runners,
        queued: s.queued,
        pools: s.pools,
        timelines: timeline.recent(),
        dockerUp: s.dockerUp,
        lastError: s.lastError,
        github: githubHealth(),
        disk: housekeeper.lastDisk,
        details: (ids) => details.of(ids),
        housekeeping: {
          ...(housekeeper.last ? { last: housekeeper.last } : {}),
          ...(housekeeper.nextAt ? { nextAt: housekeeper.nextAt } : {}),
        },
        now: Date.now(),
      });
    },
    job: (id) => timeline.get(id),
  }).catch((err) => {
    timeline.close();
    throw err;
  });

  // Deliveries that arrive while the first pass adopts what a previous run left wait for it, so no job gets a
  // second runner; the ports are open from the start, so a port conflict shows at once, not after GitHub's retries.
  let held: WorkflowJobDelivery[] | undefined = [];
  const onDelivery = (e: WebhookEvent): string | void => {
    if (e.name !== 'workflow_job') return;
    details.record(e);
    const d = parseWorkflowJob(e.payload, e.deliveryId, e.receivedAt);
    if ('error' in d) {
      log.warn({ deliveryId: e.deliveryId, error: d.error }, 'malformed workflow_job delivery refused');
      return d.error;
    }
    metrics.delivery(d, matchProfile(current, d.repo, d.job.labels)?.profileName);
    if (held) held.push(d);
    else controller.handleJob(d);
  };
  const { host, port, path, tls } = config.github.webhook;
  const server = await startPublicServer({
    host,
    port,
    path,
    secret,
    tls,
    onDelivery,
    onWebhookResponse: (code) => metrics.webhookResponse(code),
    health: () => {
      const s = controller.snapshot();
      // GitHub's state, not its error text: this port faces the internet.
      return { dockerUp: s.dockerUp, github: githubHealth().state, queued: s.queued.length, running: s.runners.length };
    },
  }).catch(async (err) => {
    await status.close();
    timeline.close();
    throw err;
  });
  log.info(
    { url: server.url, path, repos: config.repos.map((r) => r.repo), orgs: config.orgs.map((o) => o.name) },
    'controller listening for webhooks',
  );
  log.info({ url: status.url, timeline: timeline.file }, 'status endpoint listening (/metrics, /status, /jobs/ID)');

  await docker.connect();
  log.info({ repos: config.repos.length }, 'adopting what a previous run left, and checking each repo on GitHub');
  await reconciler.runOnce().catch(async (err) => {
    await server.close();
    await status.close();
    docker.close();
    timeline.close();
    throw err;
  });
  for (const r of githubHealth().repos)
    log[r.state === 'ok' ? 'info' : 'warn'](
      { repo: r.repo, github: r.state, ...(r.lastError ? { err: r.lastError } : {}) },
      'GitHub check',
    );
  for (const d of held ?? []) controller.handleJob(d);
  held = undefined;
  housekeeper.start();

  let timer = setInterval(() => void reconciler.runOnce(), config.reconcileInterval);
  // Warm pools change with the clock as well as with events: idle runners age past idleTimeout, schedules open and close.
  const poolTimer = setInterval(() => controller.pump(), POOL_TICK_MS);

  const service: Service = {
    url: server.url,
    statusUrl: status.url,
    controller,
    reconciler,
    metrics,
    timeline,
    github: health,
    housekeeper,
    applyConfig(next) {
      const blocked = restartOnlyChanges(current, next);
      if (blocked.length > 0) return blocked;
      if (next.reconcileInterval !== current.reconcileInterval) {
        clearInterval(timer);
        timer = setInterval(() => void reconciler.runOnce(), next.reconcileInterval);
      }
      current = next;
      metrics.applyConfig(next);
      reconciler.applyConfig(next);
      controller.applyConfig(next);
      housekeeper.applyConfig(next);
      log.info({ repos: next.repos.map((r) => r.repo), profiles: Object.keys(next.profiles) }, 'config reloaded');
      return [];
    },
    async reloadConfig(next) {
      await refuseMissingNetworks(next, engine);
      // A renewed certificate keeps its file names: re-read them on every reload; a bad renewal keeps the old one.
      await server.reloadTls().then(
        () => tls && log.info({ certFile: tls.certFile }, 'webhook TLS certificate re-read'),
        (err: Error) => log.error({ err: err.message }, 'webhook TLS certificate not renewed; the old one stays'),
      );
      return service.applyConfig(next);
    },
    async stop() {
      clearInterval(timer);
      clearInterval(poolTimer);
      housekeeper.stop();
      docker.close();
      await server.close();
      // Job containers keep running: a restarted controller adopts them.
      await controller.stop();
      await status.close();
      timeline.close();
      log.info(
        { running: controller.snapshot().runners.length },
        'controller stopped; runner containers left running for the next start to adopt',
      );
    },
  };
  return service;
}
