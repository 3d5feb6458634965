// A runner of ours as GitHub and Docker know it: its identity, the labels that carry it on a container, and the
// read-only view of a live runner that status, metrics and health show.

export const LABEL = {
  managed: 'factory.managed',
  instance: 'factory.instance',
  repo: 'factory.repo',
  profile: 'factory.profile',
  jobId: 'factory.job-id',
  runnerId: 'factory.runner-id',
  runnerName: 'factory.runner-name',
  /** Set on org-level runners: the organisation they are registered at (repo-level runners have none). */
  org: 'factory.org',
  /** Names (never values) of the variables that hold secrets: what the engine scrubs from the log tail. */
  secretEnv: 'factory.secret-env',
} as const;

/**
 * The job id a warm runner is registered and labelled with: it was made for no job (jobs ids are positive), so a
 * restarted controller adopts it as warm, holding no claim.
 */
export const WARM_JOB_ID = 0;

export const isWarm = (identity: Pick<RunnerIdentity, 'jobId'>) => identity.jobId === WARM_JOB_ID;

/** `jobId` is the job the runner was registered for; GitHub may give it any queued job its labels cover. */
export interface RunnerIdentity {
  instance: string;
  repo: string;
  profileName: string;
  jobId: number;
  runnerId: number;
  runnerName: string;
  /** The organisation the runner is registered at; absent for a repo-level runner. */
  org?: string;
}

/** A live runner as the controller reports it: registering (no container yet), booting, idle or busy. */
export interface RunnerView {
  readonly identity: Readonly<RunnerIdentity>;
  readonly containerId?: string;
  readonly startedAt: number;
  readonly busy: boolean;
  /** The queued job this runner stands for: the one it was made for, or one GitHub's assignment handed over. */
  readonly claim?: number;
  /** Started by a warm pool, for no job. */
  readonly warm?: boolean;
  /** When a warm runner began to stand for a job: its bootTimeout counts from here, not from its start. */
  readonly claimedAt?: number;
}

/** Reads the identity back from a container's labels; undefined for containers that are not fully labelled. */
export function identityFromLabels(labels: Record<string, string> | undefined): RunnerIdentity | undefined {
  if (!labels || labels[LABEL.managed] !== 'true') return undefined;
  const jobId = Number(labels[LABEL.jobId]);
  const runnerId = Number(labels[LABEL.runnerId]);
  const instance = labels[LABEL.instance] ?? 'default';
  const repo = labels[LABEL.repo];
  const profileName = labels[LABEL.profile];
  const name = labels[LABEL.runnerName];
  if (!repo || !profileName || !name || !Number.isFinite(jobId) || !Number.isFinite(runnerId)) return undefined;
  const org = labels[LABEL.org];
  return { instance, repo, profileName, jobId, runnerId, runnerName: name, ...(org ? { org } : {}) };
}
