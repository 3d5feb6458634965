// What GitHub's workflow_job deliveries say about a job beyond the controller's own stages: its workflow and job
// name, the link to it and its conclusion, for the status page. The most recent jobs only.
import type { WebhookEvent } from '../model/webhook-event.js';

export interface JobDetail {
  workflow?: string;
  name?: string;
  url?: string;
  conclusion?: string;
}

const text = (v: unknown, max = 200) => (typeof v === 'string' && v !== '' ? v.slice(0, max) : undefined);
/** Only a GitHub web link: a delivery is signed, but its fields are still written by whoever named the workflow. */
const link = (v: unknown) => (typeof v === 'string' && /^https:\/\/[^\s"'<>]+$/.test(v) ? v : undefined);

export class JobDetails {
  private readonly jobs = new Map<number, JobDetail>();

  constructor(private readonly max = 1_000) {}

  record(event: WebhookEvent): void {
    if (event.name !== 'workflow_job') return;
    const job = (event.payload as { workflow_job?: Record<string, unknown> })?.workflow_job;
    if (!job || typeof job.id !== 'number') return;
    const before = this.jobs.get(job.id) ?? {};
    const next: JobDetail = { ...before };
    for (const [key, value] of [
      ['workflow', text(job.workflow_name)],
      ['name', text(job.name)],
      ['url', link(job.html_url)],
      ['conclusion', text(job.conclusion, 40)],
    ] as const) {
      if (value !== undefined) next[key] = value;
    }
    this.jobs.delete(job.id);
    this.jobs.set(job.id, next);
    if (this.jobs.size > this.max) this.jobs.delete(this.jobs.keys().next().value as number);
  }

  /** The details of these jobs that are known. */
  of(ids: Iterable<number>): Record<string, JobDetail> {
    const out: Record<string, JobDetail> = {};
    for (const id of ids) {
      const d = this.jobs.get(id);
      if (d) out[String(id)] = d;
    }
    return out;
  }
}
