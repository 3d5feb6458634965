// The composition root: builds the parts (GitHub, Docker and its watch, controller, reconciler, observers), wires
// them, starts the public and status servers and the reconcile timer. Everything outside (GitHub, Docker, the log)
// can be passed in, so tests and the demo run the same wiring as production.
import { join } from 'node:path';
import Docker from 'dockerode';
import type { Config } from '../config/config.js';
import { LiveConfig } from '../config/live-config.js';
import { resolveWebhookSecret } from '../config/webhook-secret.js';
import { webhookListener } from '../config/webhook-intake.js';
import { countingEngine } from '../docker/counting-engine.js';
import type { Engine } from '../docker/docker-engine.js';
import { DockerWatch } from '../docker/docker-watch.js';
import { engineFor, jobDockerFor } from '../docker/engine-for.js';
import { egressFor } from '../egress/egress-for.js';
import { withEgressCleanup } from '../egress/egress-companion.js';
import { refusalReporter } from '../egress/egress-report.js';
import { keepsRefusedNames } from '../lanes/release.js';
import { brokerFallback, JobBrokers } from '../broker/job-brokers.js';
import { withBrokerCleanup } from '../broker/broker-companion.js';
import type { JobDocker } from '../docker/job-docker.js';
import { gitHubClient, type GitHubApi, type GitHubClientOptions } from '../github/github-client.js';
import { GitHubHealth } from '../github/github-health.js';
import { Housekeeper } from '../housekeeping/housekeeper.js';
import type { JobObserver } from '../model/job.js';
import type { WorkflowJobDelivery } from '../model/workflow-job.js';
import type { Logger } from '../observe/logger.js';
import { Metrics } from '../observe/metrics.js';
import { apiObservers, jobObservers } from '../observe/observers.js';
import { TimelineStore } from '../observe/timeline-store.js';
import { JobDetails } from '../status/job-details.js';
import { startStatusServer } from '../status/status-server.js';
import { repeat } from '../util/repeat.js';
import { Controller } from './controller.js';
import { deliveryIntake } from './delivery-intake.js';
import { refuseMissingNetworks } from './network-check.js';
import { startPublicServer } from './public-server.js';
import { Reconciler } from './reconciler.js';
import { ScaleSetIntake } from './scaleset-intake.js';
import { githubHealth, publicHealth, statusSources } from './status-sources.js';
import { Unwind } from './unwind.js';

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
  /** The scale-set listeners' retry and 409 wait (first, longest); 1 s to 30 s unless told. */
  scaleSetRetryMs?: { first: number; max: number };
  /** Resolvers the egress gateways ask for allowed names; unset, the engine's (a test gives its own network's). */
  egressDns?: string[];
}

/** A lost in_progress delays a lane job's credentials by at most this, plus one lookup. */
export const ASSIGNMENT_POLL_MS = 10_000;

export interface Service {
  /** Base URL of the HTTP server (webhook path and /healthz); empty with `intake: scaleset`, which opens no port. */
  url: string;
  /** The scale sets and their sessions, with `intake: scaleset`. */
  scaleSets: ScaleSetIntake | undefined;
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

export async function startService(opts: ServiceOptions): Promise<Service> {
  const { config, log } = opts;
  const env = opts.env ?? process.env;
  // No webhook with `intake: scaleset`: no secret is read and no port opened for GitHub.
  const webhook = webhookListener(config);
  const secret = webhook ? await resolveWebhookSecret(webhook, env) : '';
  const live = new LiveConfig(config);
  const metrics = new Metrics(config);
  const health = new GitHubHealth();
  metrics.watchGitHub(health);
  const housekeeper = new Housekeeper(config, new Docker({ socketPath: config.docker.socketPath }), log);
  metrics.watchHousekeeping(housekeeper);
  const details = new JobDetails();
  const apiObserver = apiObservers(metrics, health, opts.githubOptions?.observer);
  const rest = opts.github ?? (await gitHubClient(config, env, log, { ...opts.githubOptions, observer: apiObserver }));
  // Bound late: the scale sets hand jobs to the intake and runners to the controller, both made below.
  const late: { deliver?: (d: WorkflowJobDelivery) => void; cleanUp?: (name: string, reason: string) => void } = {};
  const scaleSets = webhook
    ? undefined
    : new ScaleSetIntake({
        config,
        github: rest,
        log,
        deliver: (d) => late.deliver?.(d),
        cleanUp: (name, reason) => late.cleanUp?.(name, reason),
        ...(opts.scaleSetRetryMs ? { retryMs: opts.scaleSetRetryMs } : {}),
      });
  const github = scaleSets ? scaleSets.throughScaleSets(rest) : rest;
  const engine = countingEngine(opts.engine ?? engineFor(config, () => live.current), metrics);
  await refuseMissingNetworks(config, engine);

  const unwind = new Unwind();
  const timeline = new TimelineStore(join(config.stateDir, `timeline-${config.instance}.jsonl`), log);
  unwind.push(() => timeline.close());
  const docker = new DockerWatch(engine, log, opts.maxDockerBackoffMs ?? 15_000);
  const observer = jobObservers(log, metrics, timeline, opts.observer);
  const egress = egressFor(config, opts.egressDns);
  // Spare gateways go with the controller; jobs' gateways stay with their jobs for the next start to adopt.
  if (egress?.close) unwind.push(() => egress.close?.());
  const ownEngines = opts.jobDocker ?? jobDockerFor(config);
  // A job's gateway goes wherever its sidecar goes (teardown, sweep); what it refused is logged first.
  const withGateways = egress
    ? withEgressCleanup(
        ownEngines,
        egress,
        refusalReporter(log, observer, opts.now, (runner) => keepsRefusedNames(live.current, runner)),
      )
    : ownEngines;
  // Brokers only when a profile asks: a config without one keeps the teardown as it was.
  const brokers = Object.values(config.profiles).some((p) => p.auth === 'broker')
    ? new JobBrokers(() => live.current)
    : undefined;
  if (brokers) unwind.push(() => brokers.closeAll());
  for (const [name, p] of Object.entries(config.profiles)) {
    const fallback = p.auth === 'broker' ? brokerFallback(p) : undefined;
    if (fallback) log.warn({ profile: name, reason: fallback }, 'auth: broker falls back to copying the login');
  }
  const sidecars = brokers ? withBrokerCleanup(withGateways, brokers) : withGateways;
  const controller = new Controller({
    config,
    github,
    engine,
    ...(sidecars ? { jobDocker: sidecars } : {}),
    ...(egress ? { egress } : {}),
    ...(brokers ? { brokers } : {}),
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
  live.read(metrics, reconciler, controller, housekeeper);
  controller.startAssignmentPoll(opts.assignmentPollMs ?? ASSIGNMENT_POLL_MS);
  // The reconciler first: containers that survived an outage are adopted before waiting jobs start.
  docker.subscribe(reconciler.dockerSubscriber);
  docker.subscribe(controller.dockerSubscriber);
  metrics.watch(controller);

  const parts = {
    config: () => live.current,
    controller,
    metrics,
    timeline,
    health,
    housekeeper,
    details,
    ...(scaleSets ? { scaleSets: () => scaleSets.views() } : {}),
  };
  const status = await unwind.guard(() =>
    startStatusServer(config.status.host, config.status.port, statusSources(parts)),
  );
  unwind.push(() => status.close());
  // Once the webhook takes no more deliveries, in-flight launches end; job containers keep running for the next
  // start to adopt.
  unwind.push(() => controller.stop());
  const intake = deliveryIntake({
    config: () => live.current,
    log,
    metrics,
    details,
    handle: (d) => controller.handleJob(d),
  });
  late.deliver = (d) => intake.onJob(d);
  late.cleanUp = (name, reason) => void controller.cleanUp(name, reason);
  const server = await unwind.guard(async () =>
    !webhook
      ? undefined
      : startPublicServer({
          host: webhook.host,
          port: webhook.port,
          path: webhook.path,
          tls: webhook.tls,
          secret,
          onDelivery: intake.onDelivery,
          onWebhookResponse: (code) => metrics.webhookResponse(code),
          health: () => publicHealth(parts),
        }),
  );
  if (server) {
    unwind.push(() => server.close());
    log.info(
      {
        url: server.url,
        path: webhook?.path,
        repos: config.repos.map((r) => r.repo),
        orgs: config.orgs.map((o) => o.name),
      },
      'controller listening for webhooks',
    );
  }
  log.info({ url: status.url, timeline: timeline.file }, 'status endpoint listening (/metrics, /status, /jobs/ID)');

  await docker.connect();
  unwind.push(() => docker.close());
  log.info({ repos: config.repos.length }, 'adopting what a previous run left, and checking each repo on GitHub');
  await unwind.guard(() => reconciler.runOnce());
  for (const r of githubHealth(parts).repos)
    log[r.state === 'ok' ? 'info' : 'warn'](
      { repo: r.repo, github: r.state, ...(r.lastError ? { err: r.lastError } : {}) },
      'GitHub check',
    );
  intake.open();
  if (scaleSets) {
    metrics.watchScaleSets(() => scaleSets.views());
    scaleSets.start();
    unwind.push(() => scaleSets.stop());
    log.info(
      { scaleSets: scaleSets.views().map((v) => `${v.scope}:${v.name}`) },
      'controller listening to runner scale sets (no inbound port)',
    );
  }
  housekeeper.start();
  unwind.push(() => housekeeper.stop());

  // A scale set's acquired jobs are offered again with each pass, as the queued-jobs poll does for webhooks.
  const reconcile = repeat(() => {
    void reconciler.runOnce();
    scaleSets?.offerPending();
  }, config.reconcileInterval);
  unwind.push(() => reconcile.stop());
  live.read({ applyConfig: (next) => reconcile.every(next.reconcileInterval) });
  // Warm pools change with the clock as well as with events: idle runners age past idleTimeout, schedules open and close.
  const poolTimer = setInterval(() => controller.pump(), POOL_TICK_MS);
  unwind.push(() => clearInterval(poolTimer));

  const service: Service = {
    url: server?.url ?? '',
    scaleSets,
    statusUrl: status.url,
    controller,
    reconciler,
    metrics,
    timeline,
    github: health,
    housekeeper,
    applyConfig(next) {
      const blocked = live.apply(next);
      if (blocked.length === 0)
        log.info({ repos: next.repos.map((r) => r.repo), profiles: Object.keys(next.profiles) }, 'config reloaded');
      return blocked;
    },
    async reloadConfig(next) {
      await refuseMissingNetworks(next, engine);
      // A renewed certificate keeps its file names: re-read them on every reload; a bad renewal keeps the old one.
      const tls = webhook?.tls;
      await server?.reloadTls().then(
        () => tls && log.info({ certFile: tls.certFile }, 'webhook TLS certificate re-read'),
        (err: Error) => log.error({ err: err.message }, 'webhook TLS certificate not renewed; the old one stays'),
      );
      return service.applyConfig(next);
    },
    async stop() {
      await unwind.run();
      const running = controller.snapshot().runners.length;
      log.info(
        { running },
        running === 0
          ? 'controller stopped; no runner containers were left running'
          : `controller stopped; ${running} runner container${running === 1 ? ' keeps' : 's keep'} running for the next start to adopt`,
      );
    },
  };
  return service;
}
