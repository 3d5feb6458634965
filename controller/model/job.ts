// The job as every part of the controller speaks of it: its stages, who watches them, and a job waiting for a slot.
// Shared by the daemon, observability and the backends, so it imports nothing of theirs.
import type { Profile } from '../config/config.js';
import type { EgressRefusals } from './egress-refusals.js';

export type JobStage =
  | 'queued'
  | 'taken'
  | 'credential-wait'
  | 'runner-created'
  | 'container-started'
  | 'runner-online'
  | 'in_progress'
  | 'released'
  | 'refused'
  | 'completed'
  | 'cleaned'
  | 'failed';

export interface StageFields {
  repo: string;
  profile?: string;
  runnerName?: string;
  detail?: string;
  lastLines?: string[];
  /** Why a job was refused a lane, as a metric label (assignment-check.ts). */
  reason?: string;
  at: number;
}

/** Watches job progress (metrics, timelines); every call is synchronous and must not throw. */
export interface JobObserver {
  stage(jobId: number, stage: JobStage, fields: StageFields): void;
  /** What became of one credential copy at the job's end: written, unchanged, or refused and why (write-back rule). */
  credentialWriteBack?(profile: string, outcome: string): void;
  /**
   * Connections a job's egress gateway refused, counted when the gateway is removed (docs/lanes.md#egress); `seen`
   * names the runner and what it tried, for the job's own record.
   */
  egressRefused?(profile: string, count: number, seen?: EgressRefusals): void;
}

/** What a waiting item holds against the caps: one unit of each named pool. */
export interface Slot {
  key: string;
  limits: ReadonlyArray<{ pool: string; max: number }>;
}

export interface PendingJob extends Slot {
  jobId: number;
  repo: string;
  profileName: string;
  profile: Profile;
  receivedAt: number;
}
