// Prometheus metrics for `GET /metrics`, fed by the controller's job observer, the GitHub client's API observer and
// the Docker engine's failures. Its own registry (not prom-client's global one), so two controllers in one process
// (tests) never share counters.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Config } from '../config/config.js';
import { servedRepo } from '../config/repo-patterns.js';
import type { JobObserver, JobStage, PendingJob } from '../model/job.js';
import type { RunnerView } from '../model/runner.js';
import type { PoolView } from '../model/pool-view.js';
import type { WorkflowJobDelivery } from '../model/workflow-job.js';
import type { ApiObserver } from '../model/api-observer.js';
import type { ScaleSetStatistics } from '../model/scaleset-message.js';
import { BoundedSet } from '../util/bounded-set.js';
import { packageVersion } from '../util/package-version.js';

/** GitHub's job conclusions; anything else a payload says is counted as `other`, so no string becomes a label. */
const CONCLUSIONS = new Set([
  'success',
  'failure',
  'cancelled',
  'skipped',
  'neutral',
  'timed_out',
  'action_required',
  'stale',
]);

// Pickup spans a warm `docker run` (sub-second) up to a cold image pull; runner online spans a runner's boot.
const LATENCY_BUCKETS = [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300];
const STAGE_COUNTER: Partial<Record<JobStage, string>> = {
  taken: 'taken',
  'container-started': 'started',
  completed: 'completed',
  failed: 'failed',
  cleaned: 'cleaned',
};
/** The stages of a job's pickup, each timed from the job's stage before it (metric label values). */
const PICKUP_STAGE: Partial<Record<JobStage, string>> = {
  'runner-created': 'runner_registered',
  'container-started': 'container_started',
  'runner-online': 'runner_online',
  in_progress: 'in_progress',
  released: 'released',
};
// A job's run time spans a lint (seconds) to a long build or an agent lane (hours).
const EXECUTION_BUCKETS = [5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 21600];
/** What the webhook port answered, as an outcome an admin alerts on (bad signatures: a wrong secret or a probe). */
const DELIVERY_OUTCOME: Record<number, string> = {
  202: 'accepted',
  200: 'duplicate',
  401: 'bad_signature',
  400: 'malformed',
  413: 'too_large',
  405: 'wrong_method',
};
// Enough to pair a job's queued and started stages and a runner's start with its job, with hundreds of jobs waiting.
const PENDING_MAX = 10_000;

// What the gauges read at scrape time, said here so metrics import nothing from the parts they watch.
/** GitHub's health (github/github-health.ts): each configured repo's state. */
interface HealthSource {
  snapshot(repos: readonly string[]): { repos: ReadonlyArray<{ repo: string; state: string }> };
}
/** Housekeeping (housekeeping/housekeeper.ts): disk use, its last run and what it removed. */
interface HousekeepingSource {
  disk(): Promise<ReadonlyArray<{ path: string; usedRatio: number }>>;
  readonly last: { at: number; error?: string } | undefined;
  readonly totals: Readonly<Record<string, number>>;
}

/** What the scale-set metrics read of each listener. */
export interface ScaleSetSource {
  scope: string;
  name: string;
  session: string;
  statistics: ScaleSetStatistics | undefined;
}
const SCALE_SET_STATES: Array<[string, keyof ScaleSetStatistics]> = [
  ['available', 'totalAvailableJobs'],
  ['acquired', 'totalAcquiredJobs'],
  ['assigned', 'totalAssignedJobs'],
  ['running', 'totalRunningJobs'],
  ['registered_runners', 'totalRegisteredRunners'],
  ['busy_runners', 'totalBusyRunners'],
  ['idle_runners', 'totalIdleRunners'],
];

export class Metrics implements JobObserver, ApiObserver {
  readonly registry = new Registry();
  private readonly seen: Counter<'repo' | 'profile'>;
  private readonly jobs: Counter<'repo' | 'profile' | 'stage'>;
  private readonly pickup: Histogram<'repo' | 'profile'>;
  private readonly online: Histogram<'repo' | 'profile'>;
  private readonly apiCalls: Counter<'route' | 'status'>;
  private readonly rateLimit: Gauge;
  private readonly dockerErrors: Counter<'operation'>;
  private readonly credentialWaits: Counter<'profile'>;
  private readonly credentialWaitSeconds: Histogram<'profile'>;
  private readonly results: Counter<'repo' | 'profile' | 'conclusion'>;
  private readonly execution: Histogram<'repo' | 'profile' | 'conclusion'>;
  private readonly deliveries: Counter<'outcome'>;
  private readonly pickups: Counter<'repo' | 'profile' | 'start'>;
  private readonly queuedToRunning: Histogram<'repo' | 'profile' | 'start'>;
  private readonly pickupStages: Histogram<'profile' | 'kind' | 'start' | 'stage'>;
  private readonly released: Counter<'profile'>;
  private readonly refused: Counter<'profile' | 'reason'>;
  private readonly writeBacks: Counter<'profile' | 'outcome'>;
  private readonly egressRefusals: Counter<'profile'>;
  private rateLimitKnown = false;
  private readonly queuedAt = new Map<number, number>();
  /** Like queuedAt, kept until in_progress: a warm hit never has a container started for its job. */
  private readonly waitingSince = new Map<number, number>();
  private readonly startedAt = new Map<string, number>();
  private readonly inProgressAt = new Map<string, number>();
  private readonly credentialWaitAt = new Map<number, number>();
  /** Per job on its way to running: its last pickup stage's time, and whether it started warm (once in_progress). */
  private readonly pickupMark = new Map<number, { at: number; start: 'warm' | 'cold' }>();
  private readonly seenJobs = new BoundedSet<number>(PENDING_MAX);

  constructor(private config: Config) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.seen = new Counter({
      name: 'factory_jobs_seen_total',
      help: 'Queued jobs of configured repos announced by webhook, by the profile that serves them ("none": no profile provides the labels)',
      labelNames: ['repo', 'profile'],
      registers,
    });
    this.jobs = new Counter({
      name: 'factory_jobs_total',
      help: 'Jobs that reached a stage: taken, started (container running), completed, failed, cleaned (container and runner gone)',
      labelNames: ['repo', 'profile', 'stage'],
      registers,
    });
    this.released = new Counter({
      name: 'factory_assignments_released_total',
      help: "Lane runners whose job GitHub's assignment showed entitled to the lane: credentials released",
      labelNames: ['profile'],
      registers,
    });
    this.refused = new Counter({
      name: 'factory_assignments_refused_total',
      help: 'Lane runners stopped because GitHub gave them a job not entitled to the lane, by why (other_repo, no_lane_label, fork, pull_request_target, lookup_failed)',
      labelNames: ['profile', 'reason'],
      registers,
    });
    this.writeBacks = new Counter({
      name: 'factory_credential_write_backs_total',
      help: "Credential copies at a lane job's end, by outcome: written, unchanged, source-changed (another job refreshed first), or refused (unsafe, rejected-shape, rejected-other-login, timed-out, write-failed)",
      labelNames: ['profile', 'outcome'],
      registers,
    });
    this.egressRefusals = new Counter({
      name: 'factory_egress_refused_total',
      help: "Connections and DNS questions a job's egress gateway refused (the hosts are in the log, not in labels)",
      labelNames: ['profile'],
      registers,
    });
    this.pickup = new Histogram({
      name: 'factory_pickup_latency_seconds',
      help: 'Webhook received (or poll found the job) to its runner container started',
      labelNames: ['repo', 'profile'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.online = new Histogram({
      name: 'factory_runner_online_latency_seconds',
      help: 'Runner container started to GitHub reporting a job in_progress on that runner',
      labelNames: ['repo', 'profile'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.apiCalls = new Counter({
      name: 'factory_github_api_calls_total',
      help: 'GitHub API requests by route template and HTTP status (0: no answer)',
      labelNames: ['route', 'status'],
      registers,
    });
    // Registered at GitHub's first answer: a 0 before then would read as a spent limit.
    this.rateLimit = new Gauge({
      name: 'factory_github_rate_limit_remaining',
      help: 'x-ratelimit-remaining of the last GitHub answer',
      registers: [],
    });
    this.dockerErrors = new Counter({
      name: 'factory_docker_errors_total',
      help: 'Docker engine calls that failed, by operation',
      labelNames: ['operation'],
      registers,
    });
    this.credentialWaits = new Counter({
      name: 'factory_credential_waits_total',
      help: 'Jobs that had to wait for a lane credential another job held',
      labelNames: ['profile'],
      registers,
    });
    this.credentialWaitSeconds = new Histogram({
      name: 'factory_credential_wait_seconds',
      help: 'How long a job waited for a lane credential',
      labelNames: ['profile'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.results = new Counter({
      name: 'factory_job_results_total',
      help: 'Completed jobs of configured repos meant for this factory, by profile and conclusion (success, failure, cancelled, ...)',
      labelNames: ['repo', 'profile', 'conclusion'],
      registers,
    });
    this.execution = new Histogram({
      name: 'factory_job_execution_seconds',
      help: "A completed job's run time on its runner (GitHub's started_at to completed_at)",
      labelNames: ['repo', 'profile', 'conclusion'],
      buckets: EXECUTION_BUCKETS,
      registers,
    });
    this.deliveries = new Counter({
      name: 'factory_webhook_deliveries_total',
      help: 'Requests to the webhook path by outcome: accepted, duplicate, bad_signature, malformed, too_large, wrong_method',
      labelNames: ['outcome'],
      registers,
    });
    this.pickups = new Counter({
      name: 'factory_job_starts_total',
      help: 'Jobs of ours that started on a runner: start="warm" (a warm pool runner already listening, a warm hit) or "cold" (a runner made after the job queued)',
      labelNames: ['repo', 'profile', 'start'],
      registers,
    });
    this.queuedToRunning = new Histogram({
      name: 'factory_queued_to_in_progress_seconds',
      help: "Queued (webhook received or poll found it) to GitHub's in_progress for it: the pickup the job's author sees, by warm or cold start",
      labelNames: ['repo', 'profile', 'start'],
      buckets: [0.01, 0.025, 0.05, ...LATENCY_BUCKETS],
      registers,
    });
    this.pickupStages = new Histogram({
      name: 'factory_pickup_stage_seconds',
      help: "A job's pickup by stage, each from the job's stage before it (queued first): runner_registered, container_started, runner_online, in_progress, released (lane profiles); kind lane (a profile with lane) or plain, start warm or cold",
      labelNames: ['profile', 'kind', 'start', 'stage'],
      buckets: [0.005, 0.01, 0.025, 0.05, ...LATENCY_BUCKETS],
      registers,
    });
    new Gauge({
      name: 'factory_build_info',
      help: 'The running factory version and Node.js version (always 1)',
      labelNames: ['version', 'node'],
      registers,
    }).set({ version: packageVersion(), node: process.version }, 1);
  }

  /** One time series per configured repo GitHub has answered for: 1 on its current state. None before it is known. */
  watchGitHub(health: HealthSource): void {
    const config = () => this.config;
    new Gauge({
      name: 'factory_github_state',
      help: 'GitHub as seen for each repo: 1 on the current state (ok, unauthorised, forbidden, rate_limited, unreachable)',
      labelNames: ['repo', 'state'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const r of health.snapshot(config().repos.map((x) => x.repo)).repos)
          if (r.state !== 'unknown') this.set({ repo: r.repo, state: r.state }, 1);
      },
    });
  }

  /** Disk use (measured at scrape time) and housekeeping's runs. */
  /** The runner scale sets' statistics as the service last sent them, and whether each has a live session. */
  watchScaleSets(source: () => ScaleSetSource[]): void {
    const registers = [this.registry];
    new Gauge({
      name: 'factory_scaleset_jobs',
      help: "A runner scale set's jobs and runners as the Actions service counts them (available, acquired, assigned, running, registered_runners, busy_runners, idle_runners)",
      labelNames: ['scope', 'scale_set', 'state'],
      registers,
      collect() {
        this.reset();
        for (const s of source())
          for (const [state, key] of SCALE_SET_STATES)
            this.set({ scope: s.scope, scale_set: s.name, state }, s.statistics?.[key] ?? 0);
      },
    });
    new Gauge({
      name: 'factory_scaleset_session_up',
      help: 'Whether the scale set has a live message session (0 while it starts, waits out a 409 or retries)',
      labelNames: ['scope', 'scale_set'],
      registers,
      collect() {
        this.reset();
        for (const s of source()) this.set({ scope: s.scope, scale_set: s.name }, s.session === 'live' ? 1 : 0);
      },
    });
  }

  watchHousekeeping(housekeeper: HousekeepingSource): void {
    const registers = [this.registry];
    new Gauge({
      name: 'factory_disk_used_ratio',
      help: "Used share (0-1) of the filesystem holding Docker's data root, and of the one holding stateDir",
      labelNames: ['path'],
      registers,
      async collect() {
        this.reset();
        for (const d of await housekeeper.disk().catch(() => [])) this.set({ path: d.path }, d.usedRatio);
      },
    });
    new Gauge({
      name: 'factory_housekeeping_last_run_timestamp_seconds',
      help: 'When housekeeping last ran (absent before its first run)',
      labelNames: ['result'],
      registers,
      collect() {
        this.reset();
        const last = housekeeper.last;
        if (last) this.set({ result: last.error ? 'failed' : 'ok' }, last.at / 1000);
      },
    });
    new Gauge({
      name: 'factory_housekeeping_removed',
      help: 'What housekeeping removed since the controller started, by kind (containers, images, volumes)',
      labelNames: ['kind'],
      registers,
      collect() {
        for (const [kind, n] of Object.entries(housekeeper.totals)) this.set({ kind }, n);
      },
    });
  }

  /** The answer the webhook path gave, by its HTTP status. */
  webhookResponse(status: number): void {
    this.deliveries.inc({ outcome: DELIVERY_OUTCOME[status] ?? `http_${status}` });
  }

  /** Gauges read at scrape time from the controller itself, so they never drift from its state. */
  watch(controller: {
    snapshot(): {
      queued: Array<Pick<PendingJob, 'repo' | 'profileName'>>;
      runners: RunnerView[];
      pools?: PoolView[];
      dockerUp: boolean;
    };
  }): void {
    const registers = [this.registry];
    new Gauge({
      name: 'factory_warm_pool_runners',
      help: 'Each warm pool: its size now (state="target": min, or 0 outside its schedule), idle runners listening, runners still starting',
      labelNames: ['repo', 'profile', 'state'],
      registers,
      collect() {
        this.reset();
        for (const p of controller.snapshot().pools ?? []) {
          const labels = { repo: p.repo, profile: p.profile };
          this.set({ ...labels, state: 'target' }, p.target);
          this.set({ ...labels, state: 'idle' }, p.idle);
          this.set({ ...labels, state: 'starting' }, p.starting);
        }
      },
    });
    new Gauge({
      name: 'factory_jobs_queued',
      help: 'Taken jobs waiting for a slot under the global, repo or credential caps',
      labelNames: ['repo', 'profile'],
      registers,
      collect() {
        this.reset();
        for (const job of controller.snapshot().queued) this.inc({ repo: job.repo, profile: job.profileName });
      },
    });
    new Gauge({
      name: 'factory_runner_containers',
      help: 'Runner containers the controller runs (started or adopted, not yet cleaned)',
      labelNames: ['repo', 'profile'],
      registers,
      collect() {
        this.reset();
        for (const r of controller.snapshot().runners) {
          if (r.containerId) this.inc({ repo: r.identity.repo, profile: r.identity.profileName });
        }
      },
    });
    new Gauge({
      name: 'factory_docker_up',
      help: '1 while the Docker engine answers, 0 while jobs wait for it',
      registers,
      collect() {
        this.set(controller.snapshot().dockerUp ? 1 : 0);
      },
    });
  }

  /** Takes an edited config, so repos added live are counted. */
  applyConfig(next: Config): void {
    this.config = next;
  }

  /** The repo as the config spells it (GitHub compares names case-insensitively), if it is configured. */
  private configuredRepo(repo: string): string | undefined {
    return servedRepo(this.config, repo)?.repo;
  }

  /**
   * Counts queued jobs as they arrive, matched or not, so an admin sees jobs no profile serves. `profile` is the one
   * that serves the job, if any (the service matches once for the controller and for this).
   */
  delivery(d: WorkflowJobDelivery, profile: string | undefined): void {
    if (d.action === 'completed') return this.completed(d, profile);
    if (d.action !== 'queued') return;
    const configured = this.configuredRepo(d.repo);
    // Unconfigured repos are not counted: their names would make the label set unbounded.
    if (!configured || !this.seenJobs.add(d.job.id)) return;
    this.seen.inc({ repo: configured, profile: profile ?? 'none' });
  }

  /**
   * A finished job of ours: its result and run time, by profile. Never by workflow or job name: workflow authors
   * choose those (a matrix makes one per combination), so each new name was a new series kept until restart, and a
   * busy org's /metrics grew without end. Names are in the timeline and GET /jobs/ID.
   */
  private completed(d: WorkflowJobDelivery, profile: string | undefined): void {
    const configured = this.configuredRepo(d.repo);
    // Only jobs this factory serves: another runner's jobs are not ours to report, and names of unconfigured repos
    // would make the label set unbounded.
    if (!configured || profile === undefined) return;
    const conclusion = CONCLUSIONS.has(d.job.conclusion ?? '') ? d.job.conclusion! : 'other';
    this.results.inc({ repo: configured, profile, conclusion });
    const started = Date.parse(String(d.job.startedAt));
    const ended = Date.parse(String(d.job.completedAt));
    if (Number.isFinite(started) && Number.isFinite(ended) && ended >= started)
      this.execution.observe({ repo: configured, profile, conclusion }, (ended - started) / 1000);
  }

  egressRefused(profile: string, count: number): void {
    this.egressRefusals.inc({ profile }, count);
  }

  credentialWriteBack(profile: string, outcome: string): void {
    if (outcome !== 'missing') this.writeBacks.inc({ profile, outcome });
  }

  stage(
    jobId: number,
    stage: JobStage,
    f: { repo: string; profile?: string; runnerName?: string; detail?: string; reason?: string; at: number },
  ): void {
    // in_progress and completed carry the repo as GitHub spells it; the other stages as the config does.
    const labels = { repo: this.configuredRepo(f.repo) ?? f.repo, profile: f.profile ?? '' };
    const counted = STAGE_COUNTER[stage];
    if (counted) this.jobs.inc({ ...labels, stage: counted });
    this.pickupStage(jobId, stage, labels.profile, f);
    switch (stage) {
      case 'queued':
        remember(this.queuedAt, jobId, f.at);
        remember(this.waitingSince, jobId, f.at);
        break;
      case 'credential-wait':
        this.credentialWaits.inc({ profile: labels.profile });
        remember(this.credentialWaitAt, jobId, f.at);
        break;
      // A cold job waits for its login in the queue, before its runner is made; a job on a runner already made (a
      // warm one) waits at its release.
      case 'runner-created':
      case 'released': {
        const waited = this.credentialWaitAt.get(jobId);
        this.credentialWaitAt.delete(jobId);
        if (waited !== undefined)
          this.credentialWaitSeconds.observe({ profile: labels.profile }, (f.at - waited) / 1000);
        if (stage === 'released') this.released.inc({ profile: labels.profile });
        break;
      }
      case 'container-started': {
        const queued = this.queuedAt.get(jobId);
        this.queuedAt.delete(jobId);
        if (queued !== undefined) this.pickup.observe(labels, (f.at - queued) / 1000);
        if (!f.runnerName) break;
        // A fast runner takes its job before Docker's start call has even answered: online at once, 0 s.
        const online = this.inProgressAt.get(f.runnerName);
        this.inProgressAt.delete(f.runnerName);
        if (online !== undefined) this.online.observe(labels, 0);
        else remember(this.startedAt, f.runnerName, f.at);
        break;
      }
      case 'in_progress': {
        const start = f.detail === 'warm' ? 'warm' : 'cold';
        this.pickups.inc({ ...labels, start });
        const queued = this.waitingSince.get(jobId);
        this.waitingSince.delete(jobId);
        if (queued !== undefined) this.queuedToRunning.observe({ ...labels, start }, Math.max(0, f.at - queued) / 1000);
        // The runner may run another queued job than the one it was started for: pair by runner, not by job.
        if (!f.runnerName) break;
        const started = this.startedAt.get(f.runnerName);
        this.startedAt.delete(f.runnerName);
        if (started !== undefined) this.online.observe(labels, Math.max(0, f.at - started) / 1000);
        else remember(this.inProgressAt, f.runnerName, f.at);
        break;
      }
      case 'refused':
        this.refused.inc({ profile: labels.profile, reason: f.reason ?? 'unknown' });
        break;
      case 'failed':
      case 'completed':
        this.waitingSince.delete(jobId);
        if (stage === 'completed') break;
        this.queuedAt.delete(jobId);
        this.credentialWaitAt.delete(jobId);
        break;
      case 'cleaned':
        if (f.runnerName) this.startedAt.delete(f.runnerName);
        if (f.runnerName) this.inProgressAt.delete(f.runnerName);
        break;
    }
  }

  /**
   * The pickup by stage: each stage on a job's way to running timed from the one before it. A warm start has no
   * runner stages of its own (its runner registered, started and came online before the job was queued), so its
   * in_progress counts from queued. The pickup ends at in_progress, or at the release on a lane profile.
   */
  private pickupStage(jobId: number, stage: JobStage, profile: string, f: { at: number; detail?: string }): void {
    if (stage === 'queued') return remember(this.pickupMark, jobId, { at: f.at, start: 'cold' });
    const mark = this.pickupMark.get(jobId);
    const name = PICKUP_STAGE[stage];
    if (!mark || !name) {
      if (stage === 'failed' || stage === 'cleaned' || stage === 'refused') this.pickupMark.delete(jobId);
      return;
    }
    const start = stage === 'in_progress' ? (f.detail === 'warm' ? 'warm' : 'cold') : mark.start;
    const p = Object.hasOwn(this.config.profiles, profile) ? this.config.profiles[profile] : undefined;
    const kind = p?.lane ? 'lane' : 'plain';
    this.pickupStages.observe({ profile, kind, start, stage: name }, Math.max(0, f.at - mark.at) / 1000);
    const ends = stage === 'released' || (stage === 'in_progress' && !p?.trusted);
    if (ends) this.pickupMark.delete(jobId);
    else this.pickupMark.set(jobId, { at: f.at, start });
  }

  onCall(route: string, status: number): void {
    this.apiCalls.inc({
      route: routeTemplate(route, new URL(this.config.github.apiUrl).pathname),
      status: String(status),
    });
  }

  onRateLimitRemaining(remaining: number): void {
    if (!Number.isFinite(remaining)) return;
    if (!this.rateLimitKnown) this.registry.registerMetric(this.rateLimit);
    this.rateLimitKnown = true;
    this.rateLimit.set(remaining);
  }

  dockerError(operation: string): void {
    this.dockerErrors.inc({ operation });
  }

  /** The Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/**
 * Octokit hands its request hook the route template (`GET /repos/{owner}/{repo}/actions/runners`), except when it
 * follows a `Link` header to the next page: then it is the absolute URL, with the repository's id and the page number.
 * Those must not become label values, or every repo and page would grow a series of its own.
 */
export function routeTemplate(route: string, apiPath = '/'): string {
  const space = route.indexOf(' ');
  const url = route.slice(space + 1);
  if (!/^https?:\/\//.test(url)) return route;
  const prefix = apiPath.replace(/\/+$/, '');
  let path = new URL(url).pathname;
  if (prefix && path.startsWith(`${prefix}/`)) path = path.slice(prefix.length);
  return `${route.slice(0, space)} ${path.replace(/\/repositories\/\d+(?=\/|$)/, '/repositories/{repository_id}').replace(/\/\d+(?=\/|$)/g, '/{id}')}`;
}

function remember<K, V>(map: Map<K, V>, key: K, value: V): void {
  map.set(key, value);
  if (map.size > PENDING_MAX) map.delete(map.keys().next().value as K);
}
