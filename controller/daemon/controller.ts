// The orchestration: queued jobs in, one JIT runner and one container per taken job, both gone when the job ends.
// Docker labels are the durable record; the maps here are a cache a restart rebuilds from them (see reconciler.ts).
import type { Config, Profile } from '../config/config.js';
import type { Engine } from '../docker/docker-engine.js';
import { isDockerDown } from '../docker/docker-engine.js';
import type { GitHubApi } from '../github/github-client.js';
import { GitHubError } from '../github/github-client.js';
import type { Logger } from '../observe/logger.js';
import { BoundedSet } from '../util/bounded-set.js';
import { matchProfile } from './profile-match.js';
import { containerSpec, jitRequest, runnerName, type RunnerIdentity } from './runner-spec.js';
import { readEnvFiles } from '../lanes/env-file.js';
import { redactLine } from '../observe/redact.js';
import { finishJobFolder, prepareJobFolder } from '../lanes/job-folder.js';
import { prepareWorkspaces } from '../lanes/job-workspace.js';
import { credentialKey, laneMounts, withSecretVariables } from '../lanes/lane-layout.js';
import { Scheduler, type Slot } from './scheduler.js';
import type { WebhookEvent } from './webhook-receiver.js';

export type JobStage = 'queued' | 'taken' | 'credential-wait' | 'runner-created' | 'container-started' | 'in_progress' | 'completed' | 'cleaned' | 'failed';

/** Watches job progress (metrics, timelines); every call is synchronous and must not throw. */
export interface JobObserver {
  stage(jobId: number, stage: JobStage, fields: { repo: string; profile?: string; runnerName?: string; detail?: string; lastLines?: string[]; at: number }): void;
}

export interface PendingJob extends Slot { jobId: number; repo: string; profileName: string; profile: Profile; receivedAt: number }

export interface RunnerRecord {
  identity: RunnerIdentity;
  slot: Slot;
  containerId?: string;
  startedAt: number;
  busy: boolean;
  cleaning: boolean;
  /** GitHub said the runner's job completed: it deregisters the runner itself. */
  jobCompleted?: boolean;
  /** An in_progress that arrived while `docker start` had not yet returned; reported right after it. */
  startedEarly?: { jobId: number; at: number };
}

export interface ControllerDeps {
  config: Config;
  github: GitHubApi;
  engine: Engine;
  log: Logger;
  observer?: JobObserver;
  now?: () => number;
}

const LOG_TAIL_LINES = 20;

interface WorkflowJobPayload {
  action: string;
  workflow_job: { id: number; labels: string[]; runner_id: number | null; runner_name: string | null };
  repository: { full_name: string };
}

export class Controller {
  readonly scheduler = new Scheduler<PendingJob>();
  /** Live runners by name, from JIT registration until cleanup. */
  readonly runners = new Map<string, RunnerRecord>();
  private readonly seenJobs = new BoundedSet<number>(50_000);
  private readonly exitedEarly = new BoundedSet<string>(1_000);
  private readonly inflight = new Set<Promise<void>>();
  private dockerUp = true;
  private stopping = false;
  lastError: string | undefined;

  constructor(private readonly deps: ControllerDeps) {}

  /** Takes repos, profiles, caps and timeouts from an edited config; jobs already waiting keep their profile. */
  applyConfig(config: Config): void {
    this.deps.config = config;
    this.pump();
  }

  private get now() {
    return (this.deps.now ?? Date.now)();
  }

  get isDockerUp(): boolean {
    return this.dockerUp;
  }

  slotFor(repo: string, profile: Profile | undefined): Slot['limits'] {
    const repoCap = this.deps.config.repos.find((r) => r.repo.toLowerCase() === repo.toLowerCase())?.maxConcurrent ?? 1;
    const limits = [
      { pool: 'global', max: this.deps.config.maxConcurrent },
      { pool: `repo:${repo.toLowerCase()}`, max: repoCap },
    ];
    const credential = profile && credentialKey(profile);
    if (credential) limits.push({ pool: `credential:${credential}`, max: profile.credentialConcurrency });
    return limits;
  }

  handleEvent(event: WebhookEvent): void {
    if (event.name !== 'workflow_job') return;
    const p = event.payload as WorkflowJobPayload;
    if (!p?.workflow_job || !p.repository?.full_name) {
      this.deps.log.warn({ deliveryId: event.deliveryId }, 'workflow_job delivery without workflow_job or repository: ignored');
      return;
    }
    const job = p.workflow_job;
    const repo = p.repository.full_name;
    switch (p.action) {
      case 'queued':
        this.offerQueuedJob(repo, job.id, job.labels, event.receivedAt, 'webhook');
        break;
      case 'in_progress':
        this.onJobStarted(repo, job.id, job.runner_name);
        break;
      case 'completed':
        this.onJobCompleted(repo, job.id, job.labels, job.runner_name);
        break;
    }
  }

  /** A queued job from a webhook or the poll; duplicates and jobs no profile serves are ignored. */
  offerQueuedJob(repo: string, jobId: number, labels: string[], receivedAt: number, source: 'webhook' | 'poll'): boolean {
    const log = this.deps.log.child({ repo, jobId });
    const match = matchProfile(this.deps.config, repo, labels);
    if (!match) {
      log.debug({ labels }, 'queued job not for this factory (repo not configured or no profile provides its labels)');
      return false;
    }
    if (this.stopping || !this.seenJobs.add(jobId)) return false;
    const canonical = match.repo.repo;
    log.info({ profile: match.profileName, labels, source }, 'job taken');
    this.deps.observer?.stage(jobId, 'queued', { repo: canonical, at: receivedAt });
    this.deps.observer?.stage(jobId, 'taken', { repo: canonical, profile: match.profileName, at: this.now });
    this.scheduler.enqueue({
      key: String(jobId),
      limits: this.slotFor(canonical, match.profile),
      jobId,
      repo: canonical,
      profileName: match.profileName,
      profile: match.profile,
      receivedAt,
    });
    this.pump();
    this.noteCredentialWait(jobId);
    return true;
  }

  /** Says so when a job waits only because another job holds its credential: a wait that looks like a hang otherwise. */
  private noteCredentialWait(jobId: number): void {
    const [item] = this.scheduler.queuedWhere((w) => w.jobId === jobId);
    const pool = item?.limits.find((l) => l.pool.startsWith('credential:'));
    if (!item || !pool || this.scheduler.inUse(pool.pool) < pool.max) return;
    const credential = pool.pool.slice('credential:'.length);
    this.deps.log.info({ repo: item.repo, jobId, credential }, 'job waits for its credential, in use by another job');
    this.deps.observer?.stage(jobId, 'credential-wait', { repo: item.repo, profile: item.profileName, detail: credential, at: this.now });
  }

  /** Starts every waiting job that fits under the caps. */
  pump(): void {
    if (this.stopping || !this.dockerUp) return;
    for (const item of this.scheduler.admit()) {
      const p = this.launch(item).finally(() => this.inflight.delete(p));
      this.inflight.add(p);
    }
  }

  private async launch(item: PendingJob): Promise<void> {
    const { config, github, engine, observer } = this.deps;
    const name = runnerName(item.repo, item.jobId, config.instance);
    const log = this.deps.log.child({ repo: item.repo, jobId: item.jobId, runner: name });
    const identity: RunnerIdentity = { instance: config.instance, repo: item.repo, profileName: item.profileName, jobId: item.jobId, runnerId: 0, runnerName: name };
    const record: RunnerRecord = { identity, slot: item, startedAt: this.now, busy: false, cleaning: false };
    // Registered before the JIT call so the reconciler never mistakes this runner for an orphan mid-launch.
    this.runners.set(name, record);

    // Lane files first: a missing credential fails the job before GitHub holds a runner for it.
    let lane;
    try {
      lane = laneMounts(config, item.profileName, item.profile, item.repo, name);
      await prepareJobFolder(config, item.profileName, item.profile, name);
      await prepareWorkspaces(config, item.profile, item.repo, item.profileName, name);
      // Values stay out of lane.env (the controller scrubs `secrets` from logs); their names tell the action to mask them.
      const secrets = await readEnvFiles(item.profile.envFiles);
      lane = { ...lane, env: withSecretVariables(lane.env, Object.keys(secrets)), secrets };
    } catch (err) {
      return this.abandon(item, name, log, { failure: (err as Error).message });
    }

    let jit;
    try {
      jit = await github.generateJitConfig(item.repo, jitRequest(name, item.profile, config.workFolder));
    } catch (err) {
      // The job is forgotten, not failed for good: the next queued-jobs poll offers it again.
      this.seenJobs.delete(item.jobId);
      return this.abandon(item, name, log, { failure: err instanceof GitHubError ? err.message : `JIT config failed: ${String(err)}` });
    }
    identity.runnerId = jit.runnerId;
    observer?.stage(item.jobId, 'runner-created', { repo: item.repo, profile: item.profileName, runnerName: name, at: this.now });
    log.info({ runnerId: jit.runnerId }, 'runner registered (JIT)');

    try {
      record.containerId = await engine.run(containerSpec(identity, item.profile, jit.encodedJitConfig, lane));
    } catch (err) {
      if (isDockerDown(err)) {
        // The daemon went away mid-call: the container may well be running the job. Leave runner, folder and job
        // to the reconciler, which adopts the container if it exists and deletes the orphan runner if it does not
        // (the job, forgotten here, is then offered again by the queued-jobs poll).
        this.runners.delete(name);
        this.scheduler.release(item);
        this.seenJobs.delete(item.jobId);
        log.warn('Docker unreachable while starting the container; the reconciler settles it when Docker answers');
        this.markDockerDown(err);
        return;
      }
      await this.deleteRunner(item.repo, jit.runnerId, log);
      const missing = (err as { statusCode?: number }).statusCode === 404;
      return this.abandon(item, name, log, {
        failure: missing ? `image ${item.profile.image} not found on this host (profile ${item.profileName})` : `container start failed: ${String((err as Error).message ?? err)}`,
      });
    }
    record.startedAt = this.now;
    observer?.stage(item.jobId, 'container-started', { repo: item.repo, profile: item.profileName, runnerName: name, at: record.startedAt });
    log.info({ containerId: record.containerId.slice(0, 12), pickupMs: record.startedAt - item.receivedAt }, 'container started');
    if (record.startedEarly) {
      observer?.stage(record.startedEarly.jobId, 'in_progress', { repo: item.repo, profile: item.profileName, runnerName: name, at: record.startedEarly.at });
    }
    if (this.exitedEarly.has(record.containerId)) void this.cleanup(record, 'container exited');
  }

  /** Undoes a launch that stopped half-way: its slot, its runner record, its job folder; then fails the job. */
  private async abandon(item: PendingJob, name: string, log: Logger, outcome: { failure: string }): Promise<void> {
    this.runners.delete(name);
    this.scheduler.release(item);
    await finishJobFolder(this.deps.config, name).catch(() => {});
    this.lastError = `${item.repo} job ${item.jobId}: ${outcome.failure}`;
    log.error(outcome.failure);
    this.deps.observer?.stage(item.jobId, 'failed', { repo: item.repo, profile: item.profileName, detail: outcome.failure, at: this.now });
    this.pump();
  }

  private onJobStarted(repo: string, jobId: number, runner: string | null): void {
    const record = runner ? this.runners.get(runner) : undefined;
    if (!record) return;
    record.busy = true;
    this.deps.log.info({ repo: record.identity.repo, jobId, runner }, 'runner picked up job');
    // A fast runner can take its job before `docker start` returns; keep the timeline in causal order.
    if (!record.containerId) record.startedEarly = { jobId, at: this.now };
    else this.deps.observer?.stage(jobId, 'in_progress', { repo: record.identity.repo, profile: record.identity.profileName, runnerName: runner!, at: this.now });
  }

  private onJobCompleted(repo: string, jobId: number, labels: string[], runner: string | null): void {
    const record = runner ? this.runners.get(runner) : undefined;
    if (record) {
      // GitHub deregisters a JIT runner once its job completes, so its cleanup need not delete it (the reconciler
      // still sweeps any that linger offline).
      record.jobCompleted = true;
      this.deps.observer?.stage(jobId, 'completed', { repo: record.identity.repo, profile: record.identity.profileName, runnerName: runner!, at: this.now });
      return; // the ephemeral runner exits by itself; its container's exit triggers the cleanup
    }
    if (runner) return;
    // Cancelled while queued: it needs no runner. If one was started for it, one idle spare of the kind is now extra.
    if (this.scheduler.cancel(String(jobId))) {
      this.deps.log.info({ repo, jobId }, 'job cancelled while waiting for a slot: dropped');
      return;
    }
    const match = matchProfile(this.deps.config, repo, labels);
    if (match) void this.removeIdleSpare(match.repo.repo, match.profileName, jobId);
  }

  /** Removes one runner of the repo and profile that has no job, preferring the one started for `jobId`. */
  async removeIdleSpare(repo: string, profileName: string, jobId: number): Promise<void> {
    const candidates = [...this.runners.values()]
      .filter((r) => r.identity.repo === repo && r.identity.profileName === profileName && !r.busy && !r.cleaning && r.containerId)
      .sort((a, b) => Number(b.identity.jobId === jobId) - Number(a.identity.jobId === jobId));
    const log = this.deps.log.child({ repo, jobId });
    for (const record of candidates) {
      // GitHub refuses (422) to delete a runner that took a job meanwhile, which makes this race-free.
      const outcome = await this.deleteRunner(repo, record.identity.runnerId, log);
      if (outcome === 'busy') {
        record.busy = true;
        continue;
      }
      log.info({ runner: record.identity.runnerName }, 'job cancelled while queued: removing an idle spare runner');
      await this.cleanup(record, 'spare runner for a cancelled job', { runnerDeleted: true });
      return;
    }
  }

  /** Called for every managed container that exits. */
  onContainerExit(containerId: string): void {
    const record = [...this.runners.values()].find((r) => r.containerId === containerId);
    if (!record) {
      this.exitedEarly.add(containerId);
      return;
    }
    void this.cleanup(record, 'container exited');
  }

  /** Keeps the container's last log lines, removes it, deletes its runner from GitHub, frees its slot. Idempotent. */
  async cleanup(record: RunnerRecord, reason: string, opts: { runnerDeleted?: boolean } = {}): Promise<void> {
    if (record.cleaning) return;
    record.cleaning = true;
    const { engine, log: root } = this.deps;
    const { repo, jobId, runnerName: name, runnerId, profileName } = record.identity;
    const log = root.child({ repo, jobId, runner: name });
    let lastLines: string[] | undefined;
    try {
      if (record.containerId) {
        const tail = await engine.tailLogs(record.containerId, LOG_TAIL_LINES);
        lastLines = tail.trimEnd().split('\n').slice(-LOG_TAIL_LINES).map(redactLine);
        log.info({ reason, lastLines }, 'runner container finished');
        await engine.remove(record.containerId);
      }
    } catch (err) {
      record.cleaning = false; // the reconciler retries once Docker answers
      if (isDockerDown(err)) this.markDockerDown(err);
      else log.error({ err: String(err) }, 'container cleanup failed');
      return;
    }
    if (!opts.runnerDeleted && !record.jobCompleted && runnerId) await this.deleteRunner(repo, runnerId, log);
    await this.writeBackCredentials(name, log);
    this.runners.delete(name);
    this.scheduler.release(record.slot);
    this.deps.observer?.stage(jobId, 'cleaned', { repo, profile: profileName, runnerName: name, detail: reason, lastLines, at: this.now });
    log.info({ reason }, 'runner cleaned up');
    this.pump();
  }

  private async writeBackCredentials(runner: string, log: Logger): Promise<void> {
    try {
      for (const { source, outcome, detail } of await finishJobFolder(this.deps.config, runner)) {
        if (outcome === 'written') log.info({ source }, 'refreshed credential written back to the host');
        else if (outcome === 'source-changed') log.warn({ source }, 'credential refreshed by this job not written back: another job refreshed the host file first');
        else if (outcome !== 'unchanged' && outcome !== 'missing') {
          const why = outcome === 'unsafe' ? `the job left ${detail}` : outcome === 'rejected-shape' ? 'the job left a file that does not parse as credentials'
            : outcome === 'rejected-other-login' ? "the job left another login than the host's" : `${outcome}${detail ? `: ${detail}` : ''}`;
          this.lastError = `credential write-back refused for ${source}: ${why}; the host file is unchanged`;
          log.error({ source, outcome, detail }, 'credential write-back refused; the host file is unchanged');
        }
      }
    } catch (err) {
      this.lastError = `credential write-back failed for runner ${runner}: ${(err as Error).message}`;
      log.error({ err: (err as Error).message }, 'credential write-back failed');
    }
  }

  async deleteRunner(repo: string, runnerId: number, log: Logger): Promise<'deleted' | 'gone' | 'busy' | 'error'> {
    try {
      return await this.deps.github.deleteRunner(repo, runnerId);
    } catch (err) {
      // Left for the reconciler: it deletes factory runners that are offline and have no container.
      log.warn({ runnerId, err: String((err as Error).message ?? err) }, 'runner delete failed; the reconciler will retry');
      return 'error';
    }
  }

  /** Counts an already running container (found after a restart) as ours, without touching it. */
  adopt(identity: RunnerIdentity, containerId: string, createdAt: number): RunnerRecord {
    const slot = { key: String(identity.jobId), limits: this.slotFor(identity.repo, this.deps.config.profiles[identity.profileName]) };
    this.scheduler.hold(slot);
    this.seenJobs.add(identity.jobId);
    this.scheduler.cancel(String(identity.jobId)); // its job has a container after all (a launch Docker cut short)
    const record = { identity, slot, containerId, startedAt: createdAt, busy: false, cleaning: false };
    this.runners.set(identity.runnerName, record);
    this.deps.log.info({ repo: identity.repo, jobId: identity.jobId, runner: identity.runnerName }, 'adopted runner container');
    return record;
  }

  // Docker availability: while down, jobs wait in the queue; a probe with backoff brings the controller back.
  onDockerDown?: () => void;
  markDockerDown(err: unknown): void {
    if (!this.dockerUp) return;
    this.dockerUp = false;
    this.lastError = `docker unavailable: ${String((err as Error)?.message ?? err)}`;
    this.deps.log.error({ err: String((err as Error)?.message ?? err) }, 'Docker daemon unreachable: jobs wait until it answers');
    this.onDockerDown?.();
  }

  markDockerUp(): void {
    if (this.dockerUp) return;
    this.dockerUp = true;
    this.deps.log.info('Docker daemon answers again');
    this.pump();
  }

  /** Stops taking work and waits for launches in flight, so no JIT runner is left without its container. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.allSettled([...this.inflight]);
  }

  get isStopping(): boolean {
    return this.stopping;
  }
}
