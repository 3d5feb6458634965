// Whether the job GitHub gave a lane runner is entitled to the lane's credentials, and the check carried out.
// GitHub hands a queued job to ANY idle runner whose labels cover it, and every runner carries `self-hosted`, so a
// lane runner may get a plain `runs-on: [self-hosted]` job, another profile's job, or a fork's job asking for the
// lane's labels. The lane's credentials are released (lanes/release.ts) only once this check says yes.
// An org-level runner is handed jobs of every repo its runner group admits, not only the repo it was made for: it may
// hold a job of any repo the config's org entries serve with its profile, and of no other.
import type { Config, Profile } from '../config/config.js';
import { distinguishingLabels } from '../config/profile-labels.js';
import { GitHubError, type GitHubApi, type WorkflowRunFacts } from '../github/github-client.js';
import { orgApi, runnersAt, scopeOf } from '../github/runner-scope.js';
import type { Logger } from '../observe/logger.js';
import { findProfile } from './profile-match.js';
import { errorMessage } from '../util/error-message.js';

/** Dependabot's login on github.com and on GitHub Enterprise Server alike. */
const DEPENDABOT = 'dependabot[bot]';

export type RefusalReason =
  'other_repo' | 'no_lane_label' | 'fork' | 'pull_request_target' | 'dependabot' | 'lookup_failed';

export type Verdict = { entitled: true } | { entitled: false; reason: RefusalReason; why: string };

export interface Assignment {
  /** The repo as GitHub names it in the delivery or the jobs list. */
  repo: string;
  jobId: number;
  runId?: number;
  labels: readonly string[];
}

const lower = (s: string) => s.toLowerCase();

/**
 * Whether `profileName` serves `repo` through an org entry of `org`: the rule matchProfile uses to start an org runner
 * of that profile for the repo's jobs, so an org runner may hold exactly the jobs such a runner would be made for.
 */
export function orgServes(config: Config, org: string, profileName: string, repo: string): boolean {
  return lower(findProfile(config, repo, profileName)?.repo.org?.name ?? '') === lower(org);
}

/**
 * What the job alone tells: whether the runner may serve its repo (a repo runner its own repo, an org runner a repo
 * its org entry covers for its profile), and a label of the lane's own among the job's (no lookup needed).
 */
export function judgeJob(
  runner: { repo: string; profileName: string; org?: string | undefined },
  profile: Profile,
  config: Config,
  job: Pick<Assignment, 'repo' | 'labels'>,
): Verdict {
  if (runner.org !== undefined) {
    if (!orgServes(config, runner.org, runner.profileName, job.repo))
      return {
        entitled: false,
        reason: 'other_repo',
        why: `the job belongs to ${job.repo}, which no orgs entry of ${runner.org} serves with profile "${runner.profileName}" (the runner was made for ${runner.repo})`,
      };
  } else if (lower(job.repo) !== lower(runner.repo))
    return {
      entitled: false,
      reason: 'other_repo',
      why: `the job belongs to ${job.repo}, the runner to ${runner.repo}`,
    };
  const own = distinguishingLabels(config.profiles, profile);
  if (!job.labels.some((l) => own.includes(lower(l))))
    return {
      entitled: false,
      reason: 'no_lane_label',
      why: `the job asks for [${job.labels.join(', ')}], none of the labels only lane profile "${runner.profileName}" has (${own.join(', ') || 'none'})`,
    };
  return { entitled: true };
}

/**
 * What the workflow run tells, by GitHub's documented fields: a run whose head commit comes from another repository
 * (a fork's pull request) runs code nobody with write access reviewed, and `pull_request_target` runs in the base
 * repository's context precisely so that workflows may handle fork pull requests; neither may hold a lane's login.
 * A run Dependabot started (or re-started) runs a dependency update's code, and GitHub itself gives it a read-only
 * token and no secrets; it gets no lane either.
 */
export function judgeRun(run: WorkflowRunFacts): Verdict {
  const bot = [run.actor, run.triggeringActor].find((login) => lower(login ?? '') === DEPENDABOT);
  if (bot)
    return {
      entitled: false,
      reason: 'dependabot',
      why: `workflow run ${run.id} (${run.event}) was started by ${bot}, which GitHub treats as untrusted`,
    };
  if (run.event === 'pull_request_target')
    return {
      entitled: false,
      reason: 'pull_request_target',
      why: `workflow run ${run.id} was triggered by pull_request_target, which serves fork pull requests`,
    };
  if (run.headRepo === null || lower(run.headRepo) !== lower(run.repo))
    return {
      entitled: false,
      reason: 'fork',
      why: `workflow run ${run.id} (${run.event}) runs code from ${run.headRepo ?? 'an unknown repository'}, not ${run.repo}`,
    };
  return { entitled: true };
}

/** Delays between run lookups that failed; after the last one the job is refused (fail closed). */
export const LOOKUP_RETRIES_MS = [1_000, 2_000, 4_000, 8_000, 15_000, 30_000];

export interface GateRunner {
  runnerName: string;
  /** The repo whose job the runner was made for; an org runner may be given another covered repo's job. */
  repo: string;
  profileName: string;
  profile: Profile;
  /** The organisation an org-level runner is registered at. */
  org?: string;
}

export interface GateActions {
  /** Writes the release; throws when it cannot. */
  release(runner: GateRunner, job: Assignment & { runId: number }): Promise<void>;
  refuse(runner: GateRunner, job: Assignment, verdict: Extract<Verdict, { entitled: false }>): void;
  /** Whether the runner is still live (a refused or cleaned runner is not checked further). */
  live(runnerName: string): boolean;
  /** The job a previous controller already released this runner's credentials for, if any. */
  releasedBefore(runnerName: string): Promise<number | undefined>;
}

type State = { jobId: number; status: 'checking' | 'released' | 'refused' | 'failed' };

/**
 * One check per runner: the first assignment GitHub reports for it (by webhook or by the poll) is judged; a second
 * report of the same job (a duplicate or late delivery) does nothing, so nothing is released twice and a correct job
 * is never refused on a replay.
 */
export class AssignmentGate {
  private readonly states = new Map<string, State>();
  /** Releases being written, so a cleanup waits for one before it removes the folder it writes into. */
  private readonly writing = new Map<string, Promise<void>>();

  constructor(
    private readonly deps: {
      github: GitHubApi;
      log: Logger;
      config: () => Config;
      sleep?: (ms: number) => Promise<void>;
    },
    private readonly actions: GateActions,
  ) {}

  /** Whether the runner's assignment is known (being checked, released or refused). */
  settled(runnerName: string): boolean {
    return this.states.has(runnerName);
  }

  released(runnerName: string): boolean {
    return this.states.get(runnerName)?.status === 'released';
  }

  forget(runnerName: string): void {
    this.states.delete(runnerName);
  }

  /** Resolves once no release is being written for the runner (a check that has not begun writing never will). */
  async releaseWritten(runnerName: string): Promise<void> {
    await this.writing.get(runnerName)?.catch(() => undefined);
  }

  /** GitHub says `runner` took `job`; resolves once it is released, refused or given up on. */
  async assigned(runner: GateRunner, job: Assignment): Promise<void> {
    const seen = this.states.get(runner.runnerName);
    if (seen) {
      if (seen.jobId !== job.jobId)
        this.deps.log.warn(
          { repo: runner.repo, runner: runner.runnerName, jobId: job.jobId, checked: seen.jobId },
          'GitHub reports a second job for a runner whose assignment is already checked: ignored',
        );
      return;
    }
    const state: State = { jobId: job.jobId, status: 'checking' };
    this.states.set(runner.runnerName, state);
    const log = this.deps.log.child({ repo: job.repo, jobId: job.jobId, runner: runner.runnerName });
    if ((await this.actions.releasedBefore(runner.runnerName)) === job.jobId) {
      state.status = 'released';
      return;
    }
    const config = this.deps.config();
    const byJob = judgeJob(runner, runner.profile, config, job);
    if (!byJob.entitled) return this.refuse(state, runner, job, byJob);
    const run = await this.lookUp(runner, job, log);
    // The runner went away meanwhile (cleaned up, or dropped in a Docker outage): no verdict. Should it come back
    // (adopted when Docker answers), its assignment is unknown again and the next report or poll checks it.
    if (!this.actions.live(runner.runnerName)) {
      if (this.states.get(runner.runnerName) === state) this.states.delete(runner.runnerName);
      return;
    }
    if (!run)
      return this.refuse(state, runner, job, {
        entitled: false,
        reason: 'lookup_failed',
        why: `the workflow run of job ${job.jobId} could not be looked up after ${LOOKUP_RETRIES_MS.length + 1} tries, and credentials are never released unchecked`,
      });
    const byRun = judgeRun(run);
    if (!byRun.entitled) return this.refuse(state, runner, job, byRun);
    const writing = this.actions.release(runner, { ...job, runId: run.id });
    this.writing.set(runner.runnerName, writing);
    try {
      await writing;
      state.status = 'released';
    } catch (err) {
      state.status = 'failed';
      log.error(
        { err: errorMessage(err) },
        'release failed: the job runs without its credentials and its action will say so',
      );
    } finally {
      this.writing.delete(runner.runnerName);
    }
  }

  private refuse(
    state: State,
    runner: GateRunner,
    job: Assignment,
    verdict: Extract<Verdict, { entitled: false }>,
  ): void {
    state.status = 'refused';
    this.actions.refuse(runner, job, verdict);
  }

  /** The run's facts, retried while GitHub fails; undefined when every try failed or the runner went away. */
  private async lookUp(runner: GateRunner, job: Assignment, log: Logger): Promise<WorkflowRunFacts | undefined> {
    const sleep = this.deps.sleep ?? ((ms) => new Promise<void>((r) => setTimeout(r, ms).unref()));
    for (let attempt = 0; ; attempt++) {
      try {
        const runId =
          job.runId ??
          (await this.deps.github.listRunningJobs(job.repo)).find((j) => j.id === job.jobId)?.runId ??
          undefined;
        if (runId === undefined) throw new Error(`job ${job.jobId} is not among the repo's running jobs`);
        return await this.deps.github.getWorkflowRun(job.repo, runId);
      } catch (err) {
        const delay = LOOKUP_RETRIES_MS[attempt];
        log.warn(
          { err: errorMessage(err), attempt: attempt + 1, retryInMs: delay ?? null },
          'workflow run lookup failed: nothing is released until it succeeds',
        );
        if (delay === undefined || !this.actions.live(runner.runnerName)) return undefined;
        await sleep(delay);
      }
    }
  }
}

export interface PolledRunner {
  repo: string;
  runnerName: string;
  profileName: string;
  org?: string;
}

/**
 * The poll for lost `in_progress` deliveries: of these runners, the ones GitHub lists busy, each with the job the
 * running jobs show on it. One runner list per scope (repo or org). A repo runner's job is in its repo; an org runner's
 * may be in any repo its org entries serve with its profile, so those are searched, the runners' own repos first,
 * until every busy runner's job is found. A rate-limited GitHub ends the pass: the next one tries again.
 */
export async function findAssignments(
  github: GitHubApi,
  config: Config,
  runners: ReadonlyArray<PolledRunner>,
  log: Logger,
  /** Told each of `runners` GitHub shows busy, whether or not its job is found. */
  onBusy: (runnerName: string) => void = () => {},
): Promise<Array<Assignment & { runnerName: string; runId: number }>> {
  const found: Array<Assignment & { runnerName: string; runId: number }> = [];
  const scopes = new Map<string, PolledRunner[]>();
  for (const r of runners) {
    const key = r.org !== undefined ? `org:${lower(r.org)}` : `repo:${lower(r.repo)}`;
    scopes.set(key, [...(scopes.get(key) ?? []), r]);
  }
  for (const group of scopes.values()) {
    const scope = scopeOf(group[0]!);
    const where = scope.kind === 'org' ? { org: scope.org } : { repo: scope.repo };
    try {
      const busy = new Set((await runnersAt(github, scope).list()).filter((r) => r.busy).map((r) => r.name));
      const waiting = new Map(group.filter((r) => busy.has(r.runnerName)).map((r) => [r.runnerName, r]));
      for (const name of waiting.keys()) onBusy(name);
      if (waiting.size === 0) continue;
      for (const repo of await reposToSearch(github, config, scope, [...waiting.values()])) {
        for (const job of await github.listRunningJobs(repo)) {
          if (!job.runnerName || !waiting.delete(job.runnerName)) continue;
          log.info(
            { repo, jobId: job.id, runner: job.runnerName },
            'no in_progress delivery for a busy lane runner: its job found by the poll',
          );
          found.push({ repo, jobId: job.id, runId: job.runId, labels: job.labels, runnerName: job.runnerName });
        }
        if (waiting.size === 0) break;
      }
    } catch (err) {
      log.warn(
        { ...where, err: errorMessage(err) },
        'assignment poll failed: nothing is released until a later poll or delivery names the job',
      );
      if (err instanceof GitHubError && err.kind === 'rate_limited') break;
    }
  }
  return found;
}

/** The repos whose running jobs may hold these runners' jobs: their own repos, then (org) the others they may serve. */
async function reposToSearch(
  github: GitHubApi,
  config: Config,
  scope: ReturnType<typeof scopeOf>,
  runners: readonly PolledRunner[],
): Promise<string[]> {
  const own = [...new Map(runners.map((r) => [lower(r.repo), r.repo])).values()];
  if (scope.kind === 'repo') return own;
  const others = (await orgApi(github, scope.org).listRepos(scope.org))
    .filter((r) => !r.archived && !own.some((o) => lower(o) === lower(r.fullName)))
    .map((r) => r.fullName)
    .filter((repo) => runners.some((r) => orgServes(config, scope.org, r.profileName, repo)));
  return [...own, ...others];
}
