// Each job's stages in order, for the most recent jobs only: the pure part of the timeline, with no file behind it.
import type { JobStage } from '../model/job.js';

/** One stage as the controller reported it; `lines` are the runner container's last log lines, on 'cleaned'. */
export interface TimelineEvent {
  jobId: number;
  stage: JobStage;
  repo: string;
  profile?: string;
  runnerName?: string;
  detail?: string;
  lines?: string[];
  at: number;
}

export interface JobTimeline {
  jobId: number;
  repo: string;
  profile?: string;
  /** The runner that ran the job (in_progress), else the last runner started for it. */
  runnerName?: string;
  events: TimelineEvent[];
}

// Stages repeat (a job re-polled after a failed launch); a cap keeps one odd job from growing without end.
const MAX_EVENTS_PER_JOB = 50;

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
    if (event.profile) job.profile = event.profile;
    if (event.runnerName && (event.stage === 'in_progress' || !job.events.some((e) => e.stage === 'in_progress'))) {
      job.runnerName = event.runnerName;
    }
    return true;
  }

  get(jobId: number): JobTimeline | undefined {
    return this.jobs.get(jobId);
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
  const last = job.events[job.events.length - 1]!;
  const queued = first('queued');
  const started = first('container-started');
  return {
    jobId: job.jobId,
    repo: job.repo,
    profile: job.profile,
    runnerName: job.runnerName,
    stage: last.stage,
    detail: [...job.events].reverse().find((e) => e.stage === 'failed')?.detail,
    queuedAt: queued,
    lastAt: last.at,
    pickupMs: queued !== undefined && started !== undefined ? started - queued : undefined,
  };
}

export type JobSummary = ReturnType<typeof summarize>;
