// GitHub's side of runners and jobs, in memory, for unit and property tests: the four API calls the controller makes
// and the workflow_job deliveries it receives, with GitHub's assignment (controller/github/standin/assignment.ts: any
// idle runner covering a job's labels takes the oldest queued one). Deliveries may be sent at once, late, twice or
// never; runners come online, idle, run a job, or die, when the test says so. An org added with addOrg has org-level
// runners, which take the oldest covered job of any repo their runner group admits.
import type {
  DeleteOutcome,
  GitHubApi,
  JitConfig,
  OrgApi,
  OrgRepo,
  QueuedJob,
  RunnerGroup,
  RunnerInfo,
  RunningJob,
  WorkflowRunFacts,
} from '../../controller/github/github-client.js';
import { jobFor, runnerFor } from '../../controller/github/standin/assignment.js';
import type { WorkflowJobDelivery } from '../../controller/model/workflow-job.js';

export interface ModelJob {
  id: number;
  repo: string;
  labels: string[];
  status: 'queued' | 'in_progress' | 'completed';
  runnerName?: string;
  cancelled?: boolean;
  runs: number;
  /** The run's event and head repository (a fork's pull request has another); default a push in the repo itself. */
  event?: string;
  headRepo?: string;
  /** Who started the run (`dependabot[bot]` for a Dependabot update); default a person. */
  actor?: string;
}
export interface ModelRunner {
  id: number;
  name: string;
  /** A repo-level runner's repo; an org-level runner has `org` and `admits` instead. */
  repo?: string;
  org?: string;
  admits?: (repo: string) => boolean;
  labels: string[];
  status: 'online' | 'offline';
  busy: boolean;
  jobId?: number;
}
export type DeliveryMode = 'now' | 'late' | 'twice' | 'lost';
/** An organisation: its repos (names without owner) and runner groups besides Default (id 1, every repo). */
export interface ModelOrg {
  login: string;
  repos: string[];
  groups: Array<{ id: number; name: string; selected: string[] }>;
}

export class GitHubModel implements GitHubApi {
  readonly jobs = new Map<number, ModelJob>();
  readonly runners = new Map<number, ModelRunner>();
  readonly calls: string[] = [];
  /** Deliveries held back (mode 'late'), sent by flushLate(). */
  readonly late: WorkflowJobDelivery[] = [];
  /** How the next deliveries go; tests and generators set it. */
  mode: () => DeliveryMode = () => 'now';
  readonly orgs = new Map<string, ModelOrg>();
  private nextId = 1;

  constructor(private readonly send: (d: WorkflowJobDelivery) => void) {}

  /** Makes `login` an organisation; each group named here admits its `selected` repos only, as a lane's must. */
  addOrg(login: string, repos: string[], groups: Record<string, string[]> = {}): void {
    this.orgs.set(login.toLowerCase(), {
      login,
      repos,
      groups: Object.entries(groups).map(([name, selected], i) => ({ id: i + 2, name, selected })),
    });
  }

  queue(repo: string, labels: string[], run: Pick<ModelJob, 'event' | 'headRepo' | 'actor'> = {}): number {
    const job: ModelJob = { id: 100_000 + this.nextId++, repo, labels, status: 'queued', runs: 0, ...run };
    this.jobs.set(job.id, job);
    this.deliver(job, 'queued');
    const idle = runnerFor(job, this.runners.values());
    if (idle) this.assign(idle, job);
    return job.id;
  }

  cancel(jobId: number): void {
    const job = this.jobs.get(jobId);
    if (!job || job.status !== 'queued') return;
    job.status = 'completed';
    job.cancelled = true;
    this.deliver(job, 'completed');
  }

  /** The runner process in the container named `name` connects: online, and takes the oldest job it covers. */
  connect(name: string): ModelRunner | undefined {
    const runner = this.byName(name);
    if (!runner || runner.status === 'online') return runner;
    runner.status = 'online';
    const job = jobFor(runner, this.jobs.values());
    if (job) this.assign(runner, job);
    return runner;
  }

  /** The runner finishes its job: the job completes and GitHub drops the ephemeral runner. */
  finish(name: string): boolean {
    const runner = this.byName(name);
    const job = runner?.jobId ? this.jobs.get(runner.jobId) : undefined;
    if (!runner || !job) return false;
    job.status = 'completed';
    this.runners.delete(runner.id);
    this.deliver(job, 'completed');
    return true;
  }

  /** The runner's process died: mid-job, the job fails (completed); otherwise the runner goes offline. */
  died(name: string): void {
    const runner = this.byName(name);
    if (!runner) return;
    if (runner.busy) return void this.finish(name);
    runner.status = 'offline';
  }

  flushLate(): void {
    for (const d of this.late.splice(0)) this.send(d);
  }

  byName(name: string): ModelRunner | undefined {
    return [...this.runners.values()].find((r) => r.name === name);
  }

  private assign(runner: ModelRunner, job: ModelJob): void {
    Object.assign(job, { status: 'in_progress', runnerName: runner.name, runs: job.runs + 1 });
    Object.assign(runner, { busy: true, jobId: job.id });
    this.deliver(job, 'in_progress');
  }

  private deliver(job: ModelJob, action: string): void {
    const d: WorkflowJobDelivery = {
      deliveryId: `d${this.nextId++}`,
      receivedAt: 0,
      action,
      repo: job.repo,
      job: {
        id: job.id,
        runId: job.id,
        labels: [...job.labels],
        runnerName: action === 'queued' || job.cancelled ? null : (job.runnerName ?? null),
      },
    };
    const mode = this.mode();
    if (mode === 'lost') return;
    if (mode === 'late') return void this.late.push(d);
    this.send(d);
    if (mode === 'twice') this.send({ ...d });
  }

  async generateJitConfig(repo: string, body: { name: string; labels: string[] }): Promise<JitConfig> {
    return this.register({ repo }, body);
  }

  private async register(
    at: Pick<ModelRunner, 'repo' | 'org' | 'admits'>,
    body: { name: string; labels: string[] },
  ): Promise<JitConfig> {
    await tick();
    this.calls.push('POST jit');
    const runner: ModelRunner = {
      id: this.nextId++,
      name: body.name,
      ...at,
      labels: body.labels,
      status: 'offline',
      busy: false,
    };
    this.runners.set(runner.id, runner);
    return {
      runnerId: runner.id,
      encodedJitConfig: Buffer.from(JSON.stringify({ name: body.name })).toString('base64'),
    };
  }

  async deleteRunner(repo: string, runnerId: number): Promise<DeleteOutcome> {
    return this.remove((r) => r.repo === repo, runnerId);
  }

  private async remove(at: (r: ModelRunner) => boolean, runnerId: number): Promise<DeleteOutcome> {
    await tick();
    this.calls.push('DELETE runner');
    const runner = this.runners.get(runnerId);
    if (!runner || !at(runner)) return 'gone';
    if (runner.busy) return 'busy';
    this.runners.delete(runnerId);
    return 'deleted';
  }

  async listRunners(repo: string): Promise<RunnerInfo[]> {
    return this.list('GET runners', (r) => r.repo === repo);
  }

  private async list(call: string, at: (r: ModelRunner) => boolean): Promise<RunnerInfo[]> {
    await tick();
    this.calls.push(call);
    return [...this.runners.values()]
      .filter(at)
      .map((r) => ({ id: r.id, name: r.name, status: r.status, busy: r.busy }));
  }

  /** The org side, for orgs added with addOrg; a lane's group admits its selected repos, Default every repo. */
  readonly org: OrgApi = {
    generateJitConfig: async (org, body) => {
      const o = this.orgOf(org);
      const group = o.groups.find((g) => g.id === body.runner_group_id);
      const admits = (repo: string) => !group || group.selected.some((n) => `${o.login}/${n}` === repo);
      return this.register({ org: o.login, admits }, body);
    },
    deleteRunner: (org, runnerId) => this.remove((r) => r.org === this.orgOf(org).login, runnerId),
    listRunners: (org) => this.list('GET org runners', (r) => r.org === this.orgOf(org).login),
    listRepos: async (org): Promise<OrgRepo[]> => {
      await tick();
      this.calls.push('GET org repos');
      const o = this.orgOf(org);
      return o.repos.map((n) => ({ fullName: `${o.login}/${n}`, private: true, archived: false }));
    },
    listRunnerGroups: async (org): Promise<RunnerGroup[]> => {
      await tick();
      const groups = this.orgOf(org).groups.map((g) => ({ ...g, visibility: 'selected' }));
      return [{ id: 1, name: 'Default', selected: [], visibility: 'all' }, ...groups].map((g) => ({
        id: g.id,
        name: g.name,
        visibility: g.visibility,
        allowsPublicRepositories: true,
      }));
    },
    listRunnerGroupRepos: async (org, groupId) => {
      await tick();
      const o = this.orgOf(org);
      return (o.groups.find((g) => g.id === groupId)?.selected ?? []).map((n) => `${o.login}/${n}`);
    },
  };

  private orgOf(login: string): ModelOrg {
    const o = this.orgs.get(login.toLowerCase());
    if (!o) throw new Error(`organisation ${login} is not in the model`);
    return o;
  }

  async listQueuedJobs(repo: string): Promise<QueuedJob[]> {
    await tick();
    this.calls.push('GET queued jobs');
    return [...this.jobs.values()]
      .filter((j) => j.repo === repo && j.status === 'queued')
      .map((j) => ({ id: j.id, runId: j.id, labels: [...j.labels] }));
  }

  async listRunningJobs(repo: string): Promise<RunningJob[]> {
    await tick();
    this.calls.push('GET running jobs');
    return [...this.jobs.values()]
      .filter((j) => j.repo === repo && j.status === 'in_progress')
      .map((j) => ({ id: j.id, runId: j.id, labels: [...j.labels], runnerName: j.runnerName ?? null }));
  }

  async getWorkflowRun(repo: string, runId: number): Promise<WorkflowRunFacts> {
    await tick();
    this.calls.push('GET run');
    const job = this.jobs.get(runId);
    const actor = job?.actor ?? 'octocat';
    return {
      id: runId,
      event: job?.event ?? 'push',
      repo,
      headRepo: job?.headRepo ?? repo,
      actor,
      triggeringActor: actor,
    };
  }
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
