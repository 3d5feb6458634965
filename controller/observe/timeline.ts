// Each job's stages in order, for the most recent jobs only: the pure part of the timeline, with no file behind it.
import type { JobStage } from '../model/job.js';
import { blockedText, type BlockedDestination } from '../model/egress-refusals.js';

/** A job's stages, and the refusals of its egress gateway, recorded when the gateway is removed. */
export type TimelineStage = JobStage | 'egress-refused';

/**
 * One stage as the controller reported it; `lines` are the runner container's last log lines, on 'cleaned';
 * `blocked` (and `more`, destinations not listed) what the job's egress gateway refused, on 'egress-refused'.
 */
export interface TimelineEvent {
  jobId: number;
  stage: TimelineStage;
  repo: string;
  profile?: string;
  runnerName?: string;
  detail?: string;
  lines?: string[];
  blocked?: BlockedDestination[];
  more?: number;
  at: number;
}

export interface JobTimeline {
  jobId: number;
  repo: string;
  profile?: string;
  /** The runner that ran the job (in_progress), else the last runner started for it. */
  runnerName?: string;
  /** Every destination the job's egress gateways refused, most refused first; absent when none was. */
  blocked?: BlockedDestination[];
  /** Refused destinations beyond those listed. */
  blockedMore?: number;
  events: TimelineEvent[];
}

// Stages repeat (a job re-polled after a failed launch); a cap keeps one odd job from growing without end.
const MAX_EVENTS_PER_JOB = 50;
// A job that tries thousands of names (a DNS tunnel) keeps its most refused destinations and a count of the rest.
export const MAX_BLOCKED_PER_JOB = 20;

/** Two lists of refused destinations as one: counts of the same host and port added, the first time the earliest. */
function mergeBlocked(a: readonly BlockedDestination[], b: readonly BlockedDestination[]): BlockedDestination[] {
  const byKey = new Map<string, BlockedDestination>();
  for (const d of [...a, ...b]) {
    const key = `${d.host}:${d.port}`;
    const seen = byKey.get(key);
    if (!seen) byKey.set(key, { ...d });
    else {
      seen.count += d.count;
      if (d.first < seen.first) seen.first = d.first;
    }
  }
  return [...byKey.values()].sort((x, y) => y.count - x.count || x.first.localeCompare(y.first));
}

/** The last `max` jobs by first sighting; older jobs fall off as new ones arrive. */
export class Timelines {
  private readonly jobs = new Map<number, JobTimeline>();

  constructor(readonly max: number) {}

  /** Records an event; false when it was dropped (its job's event cap is reached). */
  apply(event: TimelineEvent): boolean {
    let job = this.jobs.get(event.jobId);
    if (!job) {
      job = { jobId: event.jobId, repo: event.repo, events: [] };
      this.jobs.set(event.jobId, job);
      if (this.jobs.size > this.max) this.jobs.delete(this.jobs.keys().next().value as number);
    }
    if (job.events.length >= MAX_EVENTS_PER_JOB) return false;
    job.events.push(event);
    if (event.blocked?.length || event.more) {
      const all = mergeBlocked(job.blocked ?? [], event.blocked ?? []);
      job.blocked = all.slice(0, MAX_BLOCKED_PER_JOB);
      const more = (job.blockedMore ?? 0) + (event.more ?? 0) + Math.max(0, all.length - MAX_BLOCKED_PER_JOB);
      if (more > 0) job.blockedMore = more;
    }
    if (event.profile) job.profile = event.profile;
    if (event.runnerName && (event.stage === 'in_progress' || !job.events.some((e) => e.stage === 'in_progress'))) {
      job.runnerName = event.runnerName;
    }
    return true;
  }

  get(jobId: number): JobTimeline | undefined {
    return this.jobs.get(jobId);
  }

  /**
   * The job a runner ran, else the newest one started for it: a gateway's refusals are found by its runner at
   * teardown. GitHub gives a queued job to any idle runner whose labels cover it, so the runner started for one job
   * may run another; the job whose in_progress names the runner is the one whose agent tried to connect.
   */
  byRunner(runnerName: string): JobTimeline | undefined {
    const jobs = [...this.jobs.values()].reverse();
    const names = (e: TimelineEvent) => e.runnerName === runnerName;
    return (
      jobs.find((j) => j.events.some((e) => e.stage === 'in_progress' && names(e))) ??
      jobs.find((j) => j.events.some(names))
    );
  }

  /** Newest first. */
  recent(limit = this.max): JobTimeline[] {
    return [...this.jobs.values()].reverse().slice(0, limit);
  }

  /** Every retained event, oldest job first: what a compacted file holds. */
  events(): TimelineEvent[] {
    return [...this.jobs.values()].flatMap((j) => j.events);
  }

  get size(): number {
    return this.jobs.size;
  }
}

/** The job's current stage and timing facts, as the status table shows them. */
export function summarize(job: JobTimeline) {
  const first = (stage: JobStage) => job.events.find((e) => e.stage === stage)?.at;
  // Refusals are recorded at teardown, after the job's last stage: they are part of its record, not a stage of it.
  const stages = job.events.filter((e) => e.stage !== 'egress-refused');
  const last = stages[stages.length - 1] ?? job.events[job.events.length - 1]!;
  const blocked = blockedText(job.blocked ?? [], 3, job.blockedMore ?? 0);
  const queued = first('queued');
  const started = first('container-started');
  return {
    jobId: job.jobId,
    repo: job.repo,
    profile: job.profile,
    runnerName: job.runnerName,
    stage: last.stage,
    detail: [...job.events].reverse().find((e) => e.stage === 'failed')?.detail,
    blocked: blocked || undefined,
    queuedAt: queued,
    lastAt: last.at,
    pickupMs: queued !== undefined && started !== undefined ? started - queued : undefined,
  };
}

export type JobSummary = ReturnType<typeof summarize>;
