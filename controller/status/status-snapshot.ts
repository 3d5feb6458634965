// What `GET /status` answers and `factory status` prints: the controller's live state (runners, queue, Docker, last
// error) per configured repo and profile, with the recent jobs from the timeline. Pure: the server passes the parts in.
import type { Config } from '../config/config.js';
import { coversRepo } from '../config/repo-patterns.js';
import type { PendingJob } from '../model/job.js';
import type { RunnerView } from '../model/runner.js';
import type { PoolView } from '../model/pool-view.js';
import type { GitHubHealthSnapshot } from '../github/github-health.js';
import type { DiskUse } from '../housekeeping/disk-usage.js';
import type { HousekeepingRun } from '../housekeeping/housekeeper.js';
import type { JobDetail } from './job-details.js';
import { summarize, type JobSummary, type JobTimeline } from '../observe/timeline.js';

export const RECENT_WINDOW_MS = 60 * 60_000;
const RECENT_LIST = 20;

export interface ProfileRow {
  repo: string;
  profile: string;
  running: number;
  queued: number;
  /** Jobs first seen within the last hour, and how many of those failed. */
  recent: number;
  failed: number;
  lastJobAt?: number;
}

export interface StatusSnapshot {
  instance: string;
  now: number;
  docker: 'up' | 'down';
  /** GitHub's state overall and per repo, with each repo's last failure. */
  github: GitHubHealthSnapshot;
  disk: DiskUse[];
  housekeeping: { last: HousekeepingRun | null; nextAt: number | null };
  /** The newest of the controller's own errors and GitHub's failures, and when it happened (ms). */
  lastError: string | null;
  lastErrorAt: number | null;
  rows: ProfileRow[];
  running: Array<{
    runnerName: string;
    repo: string;
    profile: string;
    jobId: number;
    busy: boolean;
    startedAt: number;
    container?: string;
    /** A warm pool's runner (its jobId is 0 until it runs one). */
    warm?: boolean;
  }>;
  /** Each warm pool: its size now, idle and starting runners, all runners of its repo and profile. */
  pools: PoolView[];
  /** With `intake: scaleset`: each runner scale set, its session and cursor, and the service's last statistics. */
  scaleSets: ScaleSetRow[];
  queued: Array<{ jobId: number; repo: string; profile: string; receivedAt: number }>;
  recent: JobSummary[];
  /** Workflow, job name, link and conclusion of the listed jobs, where GitHub's deliveries said. */
  jobs: Record<string, JobDetail>;
}

export interface ScaleSetRow {
  scope: string;
  name: string;
  scaleSetId: number | undefined;
  session: string;
  sessionId: string | undefined;
  lastMessageId: number;
  pending: number;
  statistics: { totalAssignedJobs: number; totalRunningJobs: number } | undefined;
  lastError: string | undefined;
}

export interface StatusParts {
  config: Config;
  runners: Iterable<RunnerView>;
  queued: Array<Pick<PendingJob, 'jobId' | 'repo' | 'profileName' | 'receivedAt'>>;
  timelines: JobTimeline[];
  pools?: PoolView[];
  scaleSets?: ScaleSetRow[];
  dockerUp: boolean;
  lastError?: string;
  lastErrorAt?: number;
  github?: GitHubHealthSnapshot;
  disk?: DiskUse[];
  housekeeping?: { last?: HousekeepingRun; nextAt?: number };
  details?: (ids: number[]) => Record<string, JobDetail>;
  now: number;
}

export function statusSnapshot(p: StatusParts): StatusSnapshot {
  const running = [...p.runners].map((r) => ({
    runnerName: r.identity.runnerName,
    repo: r.identity.repo,
    profile: r.identity.profileName,
    jobId: r.identity.jobId,
    busy: r.busy,
    startedAt: r.startedAt,
    ...(r.containerId ? { container: r.containerId.slice(0, 12) } : {}),
    ...(r.warm ? { warm: true } : {}),
  }));
  const queued = p.queued.map((q) => ({
    jobId: q.jobId,
    repo: q.repo,
    profile: q.profileName,
    receivedAt: q.receivedAt,
  }));
  const summaries = p.timelines.map(summarize);
  const since = p.now - RECENT_WINDOW_MS;
  const same = (repo: string, profile: string) => (x: { repo: string; profile?: string }) =>
    x.repo.toLowerCase() === repo.toLowerCase() && x.profile === profile;

  // An org entry is one row per profile, named `org/*`, counting the jobs of every repo it covers.
  const entries = [
    ...p.config.repos.map((r) => ({ repo: r.repo, profiles: r.profiles, same })),
    ...p.config.orgs.map((o) => ({
      repo: `${o.name}/*`,
      profiles: o.profiles,
      same: (_repo: string, profile: string) => (x: { repo: string; profile?: string }) =>
        coversRepo(o, x.repo) && x.profile === profile,
    })),
  ];
  const rows = entries.flatMap((r) =>
    r.profiles.map((profile): ProfileRow => {
      const same = r.same;
      const jobs = summaries.filter(same(r.repo, profile));
      const recent = jobs.filter((j) => (j.queuedAt ?? j.lastAt) >= since);
      const lastJobAt = jobs.reduce<number | undefined>((m, j) => Math.max(m ?? 0, j.queuedAt ?? j.lastAt), undefined);
      return {
        repo: r.repo,
        profile,
        running: running.filter(same(r.repo, profile)).length,
        queued: queued.filter(same(r.repo, profile)).length,
        recent: recent.length,
        failed: recent.filter((j) => j.stage === 'failed').length,
        ...(lastJobAt !== undefined ? { lastJobAt } : {}),
      };
    }),
  );
  return {
    instance: p.config.instance,
    now: p.now,
    docker: p.dockerUp ? 'up' : 'down',
    github: p.github ?? { state: 'unknown', repos: p.config.repos.map((r) => ({ repo: r.repo, state: 'unknown' })) },
    disk: p.disk ?? [],
    housekeeping: { last: p.housekeeping?.last ?? null, nextAt: p.housekeeping?.nextAt ?? null },
    lastError: p.lastError ?? null,
    lastErrorAt: p.lastError !== undefined ? (p.lastErrorAt ?? null) : null,
    rows,
    pools: p.pools ?? [],
    scaleSets: p.scaleSets ?? [],
    running,
    queued,
    recent: summaries.slice(0, RECENT_LIST),
    jobs:
      p.details?.([
        ...running.map((r) => r.jobId),
        ...queued.map((q) => q.jobId),
        ...summaries.slice(0, RECENT_LIST).map((j) => j.jobId),
      ]) ?? {},
  };
}
