// Starts the controller: the webhook server, Docker's exit events, the reconcile timer. Everything outside (GitHub,
// Docker, the log) can be passed in, so tests and the demo run the same wiring as production.
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../config/config.js';
import { Controller, type JobObserver } from './controller.js';
import { dockerEngine, isDockerDown, type Engine } from '../docker/docker-engine.js';
import { gitHubClient, type GitHubApi, type GitHubClientOptions } from '../github/github-client.js';
import { GitHubHealth } from '../github/github-health.js';
import { JobDetails } from '../observe/job-details.js';
import { Housekeeper } from '../housekeeping/housekeeper.js';
import Docker from 'dockerode';
import type { Logger } from '../observe/logger.js';
import { Metrics, countingEngine } from '../observe/metrics.js';
import { apiObservers, jobObservers } from '../observe/observers.js';
import { Reconciler } from './reconciler.js';
import { restartOnlyChanges } from '../config/config-reload.js';
import { startStatusServer } from '../observe/status-server.js';
import { statusSnapshot } from '../observe/status-snapshot.js';
import { TimelineStore } from '../observe/timeline-store.js';
import { limitWebhookServer, webhookHandler, WEBHOOK_SERVER, type WebhookEvent } from './webhook-receiver.js';

export interface ServiceOptions {
  config: Config;
  log: Logger;
  env?: NodeJS.ProcessEnv;
  engine?: Engine;
  github?: GitHubApi;
  githubOptions?: GitHubClientOptions;
  observer?: JobObserver;
  /** Upper bound of the Docker reconnect backoff. */
  maxDockerBackoffMs?: number;
}

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
  stop(): Promise<void>;
}

export async function resolveWebhookSecret(config: Config, env: NodeJS.ProcessEnv): Promise<string> {
  const ref = config.github.webhook.secret;
  const value = ref.env ? env[ref.env] : await readFile(ref.file!, 'utf8').then((s) => s.trim(), () => undefined);
  if (!value) {
    throw new Error(ref.env ? `github.webhook.secret.env: environment variable ${ref.env} is not set` : `github.webhook.secret.file: cannot read ${ref.file}`);
  }
  return value;
}

export async function startService(opts: ServiceOptions): Promise<Service> {
  const { config, log } = opts;
  const env = opts.env ?? process.env;
  const secret = await resolveWebhookSecret(config, env);
  const metrics = new Metrics(config);
  const timeline = new TimelineStore(join(config.stateDir, `timeline-${config.instance}.jsonl`), log);
  const health = new GitHubHealth();
  const apiObserver = apiObservers(metrics, health, opts.githubOptions?.observer);
  metrics.watchGitHub(health);
  const housekeeper = new Housekeeper(config, new Docker({ socketPath: config.docker.socketPath }), log);
  metrics.watchHousekeeping(housekeeper);
  const details = new JobDetails();
  const github = opts.github ?? (await gitHubClient(config, env, log, { ...opts.githubOptions, observer: apiObserver }));
  const engine = countingEngine(opts.engine ?? dockerEngine(config.docker.socketPath, config.instance), metrics);
  const observer = jobObservers(log, metrics, timeline, opts.observer);
  const controller = new Controller({ config, github, engine, log, observer });
  metrics.watch(controller);
  const reconciler = new Reconciler({ config, controller, engine, github, log });
  const docker = new DockerWatch(engine, controller, reconciler, log, opts.maxDockerBackoffMs ?? 15_000);
  controller.onDockerDown = () => docker.reconnect();

  let current = config;
  const githubHealth = () => health.snapshot(current.repos.map((r) => r.repo));
  const status = await startStatusServer(config.status.host, config.status.port, {
    metrics: async () => ({ contentType: metrics.contentType, text: await metrics.text() }),
    status: () =>
      statusSnapshot({
        config: current,
        runners: controller.runners.values(),
        queued: controller.scheduler.queuedWhere(() => true),
        timelines: timeline.recent(),
        dockerUp: controller.isDockerUp,
        lastError: controller.lastError,
        github: githubHealth(),
        disk: housekeeper.lastDisk,
        details: (ids) => details.of(ids),
        housekeeping: { ...(housekeeper.last ? { last: housekeeper.last } : {}), ...(housekeeper.nextAt ? { nextAt: housekeeper.nextAt } : {}) },
        now: Date.now(),
      }),
    job: (id) => timeline.get(id),
  }).catch((err) => {
    timeline.close();
    throw err;
  });
  // Deliveries that arrive while the first pass adopts what a previous run left wait for it, so no job gets a
  // second runner; the ports are open from the start, so a port conflict shows at once, not after GitHub's retries.
  let held: WebhookEvent[] | undefined = [];
  const onWebhook = webhookHandler({
    path: config.github.webhook.path,
    secret,
    onEvent: (e) => {
      metrics.delivery(e);
      details.record(e);
      if (held) held.push(e);
      else controller.handleEvent(e);
    },
  });
  const server: Server = createServer(WEBHOOK_SERVER, (req, res) => {
    if (onWebhook(req, res)) {
      res.once('finish', () => metrics.webhookResponse(res.statusCode));
      return;
    }
    if (req.method === 'GET' && req.url === '/healthz') {
      const up = controller.isDockerUp;
      // GitHub's state, not its error text: this port faces the internet. Unknown (not yet answered) is not a fault.
      const github = githubHealth().state;
      const healthy = up && (github === 'ok' || github === 'unknown');
      res.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        status: healthy ? 'ok' : 'degraded',
        docker: up ? 'up' : 'down',
        github,
        queued: controller.scheduler.queued,
        running: controller.runners.size,
        // No lastError here: this port faces the internet (GitHub delivers to it), and errors name hosts' paths.
        // The loopback status endpoint has it.
      }));
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not found' }));
  });
  limitWebhookServer(server);
  const { host, port } = config.github.webhook;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`github.webhook.port: cannot listen on ${host}:${port} (${(err as NodeJS.ErrnoException).code})`)));
    server.listen(port, host, resolve);
  }).catch(async (err) => {
    await status.close();
    timeline.close();
    throw err;
  });
  const address = server.address() as { port: number };
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${address.port}`;
  log.info({ url, path: config.github.webhook.path, repos: config.repos.map((r) => r.repo) }, 'controller listening for webhooks');
  log.info({ url: status.url, timeline: timeline.file }, 'status endpoint listening (/metrics, /status, /jobs/ID)');

  await docker.connect();
  log.info({ repos: config.repos.length }, 'adopting what a previous run left, and checking each repo on GitHub');
  await reconciler.runOnce().catch(async (err) => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await status.close();
    docker.close();
    timeline.close();
    throw err;
  });
  for (const r of githubHealth().repos) log[r.state === 'ok' ? 'info' : 'warn']({ repo: r.repo, github: r.state, ...(r.lastError ? { err: r.lastError } : {}) }, 'GitHub check');
  for (const e of held ?? []) controller.handleEvent(e);
  held = undefined;
  housekeeper.start();

  let timer = setInterval(() => void reconciler.runOnce(), config.reconcileInterval);

  return {
    url,
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
      housekeeper.applyConfig(next);
      controller.applyConfig(next);
      log.info({ repos: next.repos.map((r) => r.repo), profiles: Object.keys(next.profiles) }, 'config reloaded');
      return [];
    },
    async stop() {
      clearInterval(timer);
      housekeeper.stop();
      docker.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      // Job containers keep running: a restarted controller adopts them.
      await controller.stop();
      await status.close();
      timeline.close();
      log.info({ running: controller.runners.size }, 'controller stopped; runner containers left running for the next start to adopt');
    },
  };
}

/** Follows Docker's container exit events; while the daemon is away, probes it with backoff and catches up after. */
class DockerWatch {
  private unwatch: (() => void) | undefined;
  private probing = false;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  /** When the event stream was last lost (ms), until a new one is up. */
  private lostAt: number | undefined;

  constructor(
    private readonly engine: Engine,
    private readonly controller: Controller,
    private readonly reconciler: Reconciler,
    private readonly log: Logger,
    private readonly maxBackoffMs: number,
  ) {}

  async connect(): Promise<boolean> {
    // After an outage, replay exits from shortly before the stream broke: a container that died while we were away,
    // or between the reconnect and the subscription taking effect, is cleaned up all the same.
    const since = this.lostAt === undefined ? undefined : Math.floor(this.lostAt / 1000) - 1;
    try {
      this.unwatch = await this.engine.watchExits(
        (id) => this.controller.onContainerExit(id),
        (err) => {
          if (this.closed) return;
          this.lostAt ??= Date.now();
          this.controller.markDockerDown(err ?? new Error('Docker event stream ended'));
          this.reconnect();
        },
        since,
      );
      this.lostAt = undefined;
      return true;
    } catch (err) {
      if (!isDockerDown(err)) this.log.error({ err: String(err) }, 'watching Docker events failed');
      this.controller.markDockerDown(err);
      return false;
    }
  }

  reconnect(): void {
    if (this.probing || this.closed) return;
    this.probing = true;
    this.unwatch?.();
    let delay = 250;
    const attempt = async () => {
      if (this.closed) return;
      try {
        await this.engine.ping();
        if (await this.connect()) {
          this.probing = false;
          await this.reconciler.runOnce();
          this.controller.markDockerUp();
          return;
        }
      } catch {
        // still down
      }
      delay = Math.min(delay * 2, this.maxBackoffMs);
      this.timer = setTimeout(() => void attempt(), delay);
    };
    this.timer = setTimeout(() => void attempt(), delay);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.unwatch?.();
  }
}
