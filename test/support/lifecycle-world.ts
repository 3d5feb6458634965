// The runner book's transition function (runner-lifecycle.ts, through RunnerBook.apply) driven directly, with nothing
// async: GitHub is the in-memory model's synchronous side (github-model.ts: queue, connect, finish, cancel, die, late
// deliveries), Docker a map of containers, and the rest of the daemon's state (its queue, its job accounting) kept as
// the controller keeps it. The work the controller would await (a launch's registration and its `docker run`, a
// cleanup, a spare's delete) waits in `pending` until the test lets it land, in any order: the interleavings the
// properties explore. The reconcile pass is the reconciler's, its listing taken at one moment and acted on at another.
import { configSchema, type Config } from '../../controller/config/config.js';
import { findProfile, matchProfile } from '../../controller/daemon/profile-match.js';
import { adoptContainer } from '../../controller/daemon/runner-adoption.js';
import { RunnerBook } from '../../controller/daemon/runner-book.js';
import type { Effect, RunnerEvent, TakenJob } from '../../controller/daemon/runner-lifecycle.js';
import { containerOf } from '../../controller/daemon/runner-phase.js';
import { Scheduler } from '../../controller/daemon/scheduler.js';
import { slotLimits } from '../../controller/daemon/slot-limits.js';
import { decidePools, poolRunner, poolStates, warmLaunch } from '../../controller/daemon/warm-pool.js';
import type { PendingJob } from '../../controller/model/job.js';
import type { RunnerIdentity } from '../../controller/model/runner.js';
import type { WorkflowJobDelivery } from '../../controller/model/workflow-job.js';
import { silentLogger } from '../../controller/observe/logger.js';
import { GitHubModel } from './github-model.js';

export const REPO = 'org/app';
export const LABELS = ['self-hosted', 'factory', 'ci'];

interface Container {
  id: string;
  name: string;
  identity: RunnerIdentity;
  exited: boolean;
}

type Op =
  | { kind: 'register'; identity: RunnerIdentity }
  | { kind: 'answer'; name: string; containerId: string }
  | { kind: 'tear-down'; name: string; deleteRunner: boolean; retire?: boolean }
  | { kind: 'delete-spare'; name: string; why: string; retire?: boolean }
  /** A lane runner's verified assignment: its release takes the login, or waits while another job holds it. */
  | { kind: 'release'; name: string };

interface Listing {
  mark: number;
  containers: Container[];
}

export class LifecycleWorld {
  readonly config: Config;
  readonly github: GitHubModel;
  readonly book = new RunnerBook();
  readonly scheduler = new Scheduler<PendingJob>();
  readonly containers = new Map<string, Container>();
  /** Work begun and not landed yet, in the order begun. */
  readonly pending: Op[] = [];
  maxRunning = 0;
  t = 1_700_000_000_000;
  /** Exit events Docker drops while set. */
  exitEventsLost = false;
  /** With `login`: the runners whose release holds the profile's one login (credentialConcurrency 1). */
  readonly loginHolders = new Set<string>();
  /** Most holders of the login at once, and holders seen that ran no job (an idle runner holding it). */
  maxLoginHolders = 0;
  idleLoginHolders = 0;
  private next = 1;
  private readonly log = silentLogger();

  /** `login`: the profile is a lane with a login, taken at each job's release (lane-assignments.ts). */
  constructor(opts: { cap: number; warm?: number; login?: boolean }) {
    const plain = { labels: LABELS, image: 'factory-test/runner:1', network: 'none' };
    const ci = opts.login
      ? {
          ...plain,
          trusted: true,
          lane: 'codex',
          mounts: [{ kind: 'auth', agent: 'codex', source: '/nonexistent/codex' }],
        }
      : plain;
    this.config = configSchema.parse({
      github: { auth: { tokenEnv: 'T' }, webhook: { secret: { env: 'S' } } },
      instance: 'mem',
      maxConcurrent: opts.cap,
      stateDir: '/nonexistent',
      profiles: { ci: opts.warm ? { ...ci, warm: { min: opts.warm, idleTimeout: '10m' } } : ci },
      repos: [{ repo: REPO, profiles: ['ci'], maxConcurrent: opts.cap }],
    });
    this.github = new GitHubModel((d) => this.deliver(d));
  }

  get running(): Container[] {
    return [...this.containers.values()].filter((c) => !c.exited);
  }

  // The world's side.

  /** A container stops: its runner process ends (GitHub sees it go offline, or its job fail), Docker says so. */
  exit(c: Container): void {
    if (c.exited) return;
    c.exited = true;
    this.github.died(c.name);
    if (this.exitEventsLost) return;
    const runner = this.book.byContainer(c.id);
    if (!runner) return this.book.exitedBeforeStart(c.id);
    this.feed({ kind: 'cleanup-asked', name: runner.identity.runnerName, reason: 'container exited' });
  }

  /** Lets the pending work at `index` land (a random pick interleaves it with everything else). */
  land(index: number): void {
    const [op] = this.pending.splice(index % this.pending.length, 1);
    if (!op) return;
    switch (op.kind) {
      case 'register': {
        // The JIT registration and `docker run`: the runner exists at GitHub, offline, and its container runs
        // before the launch hears back, so it may connect, take a job or die first.
        const { identity } = op;
        const id = this.next++;
        this.github.calls.push('POST jit');
        this.github.runners.set(id, {
          id,
          name: identity.runnerName,
          repo: identity.repo,
          labels: LABELS,
          status: 'offline',
          busy: false,
        });
        const c: Container = { id: `c-${identity.runnerName}`, name: identity.runnerName, identity, exited: false };
        this.containers.set(c.id, c);
        this.maxRunning = Math.max(this.maxRunning, this.running.length);
        this.pending.push({ kind: 'answer', name: identity.runnerName, containerId: c.id });
        return;
      }
      case 'answer':
        return this.feed({
          kind: 'launch-answered',
          name: op.name,
          outcome: {
            kind: 'container',
            containerId: op.containerId,
            at: this.t,
            exitedEarly: this.book.hasExitedEarly(op.containerId),
          },
        });
      case 'release': {
        const r = this.book.get(op.name);
        if (!r || !this.book.isLive(op.name)) return;
        if (this.loginHolders.size > 0 && !this.loginHolders.has(op.name)) return void this.pending.push(op);
        this.loginHolders.add(op.name);
        if (r.work.kind !== 'running') this.idleLoginHolders++;
        this.maxLoginHolders = Math.max(this.maxLoginHolders, this.loginHolders.size);
        return;
      }
      case 'tear-down': {
        this.loginHolders.delete(op.name);
        const runner = this.book.get(op.name)!;
        const c = this.containers.get(containerOf(runner)!);
        if (c) {
          this.containers.delete(c.id);
          if (!c.exited) this.github.died(c.name);
        }
        if (op.deleteRunner) this.removeAtGitHub(op.name);
        this.feed({ kind: 'cleanup-ended', name: op.name, outcome: { kind: 'done' }, at: this.t });
        if (op.retire) this.feed({ kind: 'retire-ended', name: op.name });
        return;
      }
      case 'delete-spare': {
        const outcome = this.removeAtGitHub(op.name);
        this.feed({ kind: 'spare-deleted', name: op.name, why: op.why, outcome });
        // A retirement ends once the delete and the cleanup it began have landed.
        const teardown = this.pending.find((p) => p.kind === 'tear-down' && p.name === op.name);
        if (op.retire && teardown?.kind === 'tear-down') teardown.retire = true;
        else if (op.retire) this.feed({ kind: 'retire-ended', name: op.name });
        return;
      }
    }
  }

  /** Lets everything pending land, and whatever that begins, oldest first. */
  settle(): void {
    for (let i = 0; i < 10_000 && this.pending.length > 0; i++) this.land(0);
  }

  /** The reconciler's pass, its Docker listing taken now and acted on when `finish` is called. */
  beginReconcile(): Listing {
    return { mark: this.book.mark(), containers: [...this.containers.values()].map((c) => ({ ...c })) };
  }

  finishReconcile(listing: Listing): void {
    const { book } = this;
    const present = new Set<string>();
    for (const c of listing.containers) {
      present.add(c.id);
      const known = book.byContainer(c.id)?.identity.runnerName;
      if (!known && book.get(c.name)) continue; // still launching
      if (!known && book.changedSince(c.name, listing.mark)) continue;
      if (!known) {
        const adopted = adoptContainer(
          { config: this.config, log: this.log, book, scheduler: this.scheduler },
          c.identity,
          c.id,
          this.t,
        );
        if (adopted) this.feed(adopted);
      }
      if (c.exited)
        this.feed({
          kind: 'cleanup-asked',
          name: c.name,
          reason: known ? 'container exited' : 'exited while the controller was away',
        });
    }
    for (const r of book.views())
      if (r.containerId && !present.has(r.containerId) && !book.changedSince(r.identity.runnerName, listing.mark))
        this.feed({ kind: 'cleanup-asked', name: r.identity.runnerName, reason: 'container vanished' });
    for (const r of [...this.github.runners.values()]) {
      if (book.get(r.name)) {
        if (r.busy) this.feed({ kind: 'listed-busy', name: r.name });
      } else if (r.status === 'offline') this.removeAtGitHub(r.name);
    }
    for (const job of [...this.github.jobs.values()])
      if (job.status === 'queued') this.offer(job.id, job.labels, this.t);
    for (const r of book.views()) {
      if (!r.containerId) continue;
      const since = r.warm ? (r.claimedAt ?? (r.busy ? r.startedAt : undefined)) : r.startedAt;
      if (since === undefined) continue;
      const age = this.t - since;
      if (!r.busy && age > this.config.bootTimeout)
        this.feed({ kind: 'cleanup-asked', name: r.identity.runnerName, reason: 'no job within bootTimeout' });
      else if (age > this.config.jobTimeout)
        this.feed({ kind: 'cleanup-asked', name: r.identity.runnerName, reason: 'exceeded jobTimeout' });
    }
    this.pump();
  }

  reconcile(): void {
    this.finishReconcile(this.beginReconcile());
  }

  // The controller's side, as controller.ts does it.

  private deliver(d: WorkflowJobDelivery): void {
    const facts = () => ({
      repo: d.repo,
      jobId: d.job.id,
      runner: d.job.runnerName,
      at: this.t,
      queued: this.scheduler.queuedWhere((w) => w.jobId === d.job.id).length > 0,
    });
    if (d.action === 'queued') return void this.offer(d.job.id, d.job.labels, this.t);
    if (d.action === 'in_progress') {
      this.book.markSeen(d.job.id);
      const lane = this.config.profiles.ci!.trusted;
      const assignment = { repo: d.repo, jobId: d.job.id, labels: d.job.labels };
      return this.feed({ kind: 'job-started', ...facts(), ...(lane ? { assignment } : {}) });
    }
    this.book.markFinished(d.job.id);
    this.feed({ kind: 'job-completed', ...facts() });
  }

  private offer(jobId: number, labels: string[], receivedAt: number): boolean {
    const match = matchProfile(this.config, REPO, labels);
    if (!match || !this.book.take(jobId)) return false;
    const job = { jobId, repo: match.repo.repo, profileName: match.profileName, profile: match.profile, receivedAt };
    this.feed({ kind: 'job-taken', job, at: this.t });
    return true;
  }

  private pump(): void {
    for (const item of this.scheduler.admit()) this.launch(item);
    const states = poolStates(
      this.config,
      this.book
        .all()
        .filter((r) => r.phase.name !== 'finishing')
        .map(poolRunner),
      this.scheduler.queuedWhere(() => true),
      (repo, profile) => slotLimits(this.config, repo, profile, { warm: true }),
      () => false,
      this.t,
    );
    for (const d of decidePools(states, (pool) => this.scheduler.inUse(pool), this.t)) {
      for (const { name, why } of d.stop) {
        this.feed({ kind: 'retire-begun', name, why });
        const op = this.pending.find((p) => p.kind === 'delete-spare' && p.name === name);
        if (op?.kind === 'delete-spare') op.retire = true;
      }
      const match = findProfile(this.config, d.repo, d.profileName)!;
      for (let i = 0; i < d.start; i++) {
        const limits = slotLimits(this.config, match.repo.repo, match.profile, { warm: true });
        const item = warmLaunch(match, limits, this.t);
        this.scheduler.hold(item);
        this.launch(item);
      }
    }
  }

  private launch(item: PendingJob): void {
    const n = this.next++;
    const identity: RunnerIdentity = {
      instance: 'mem',
      repo: item.repo,
      profileName: item.profileName,
      jobId: item.jobId,
      runnerId: n,
      runnerName: `mem-${item.jobId}-${n}`,
    };
    this.feed({ kind: 'launch-begun', identity, slot: item, at: this.t });
    this.pending.push({ kind: 'register', identity });
  }

  feed(event: RunnerEvent): void {
    for (const e of this.book.apply(event)) this.carryOut(e);
  }

  private carryOut(e: Effect): void {
    switch (e.kind) {
      case 'enqueue':
        return this.enqueue(e.job);
      case 'requeue': {
        const match = findProfile(this.config, e.repo, e.profileName);
        if (!match || this.book.isFinished(e.jobId)) return this.book.giveBack(e.jobId);
        this.enqueue({ ...e, profile: match.profile, receivedAt: this.t });
        return this.pump();
      }
      case 'cancel-queued':
        return void this.scheduler.cancel(String(e.jobId));
      case 'give-back':
        return this.book.giveBack(e.jobId);
      case 'release-slot':
        return this.scheduler.release(e.slot);
      case 'pump':
        return this.pump();
      case 'tear-down':
        return void this.pending.push({ kind: 'tear-down', name: e.name, deleteRunner: e.deleteRunner });
      case 'delete-spare':
        return void this.pending.push({ kind: 'delete-spare', name: e.name, why: e.why });
      case 'check-assignment':
        return void this.pending.push({ kind: 'release', name: e.name });
      default:
        return; // stages, logs, errors, lane checks: nothing of the books
    }
  }

  private enqueue(job: TakenJob): void {
    this.scheduler.enqueue({ key: String(job.jobId), limits: slotLimits(this.config, job.repo, job.profile), ...job });
  }

  /** GitHub's DELETE of a runner by name: 422 ('busy') while it runs a job. */
  private removeAtGitHub(name: string): 'deleted' | 'gone' | 'busy' {
    this.github.calls.push('DELETE runner');
    const r = this.github.byName(name);
    if (!r) return 'gone';
    if (r.busy) return 'busy';
    this.github.runners.delete(r.id);
    return 'deleted';
  }
}
