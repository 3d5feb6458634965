// How GitHub hands queued jobs to self-hosted runners, as the stand-in and the tests' in-memory model both play it:
// a runner that comes online takes the OLDEST queued job whose labels it covers, whichever job caused it to be made;
// a job queued while a matching runner idles goes to that runner at once. Labels compare case-insensitively. A
// repo-level runner serves its repo only; an org-level runner serves any repo of its org its runner group admits.
// A job routed to a runner scale set is that scale set's: only its runners take it, and only once it was acquired.

export interface AssignableJob {
  id: number;
  repo: string;
  labels: string[];
  status: string;
  /** The runner scale set the job was routed to, and whether the scale set acquired it yet. */
  scaleSetId?: number;
  acquired?: boolean;
}
export interface AssignableRunner {
  /** A repo-level runner's repo; an org-level runner has none. */
  repo?: string;
  /** An org-level runner's organisation. */
  org?: string;
  /** For an org-level runner: whether its runner group admits the repo (every repo of the org when absent). */
  admits?: (repo: string) => boolean;
  labels: string[];
  status: string;
  busy: boolean;
  /** A scale set's JIT runner: it runs only jobs its scale set acquired, and no other runner runs those. */
  scaleSetId?: number;
}

/** Whether the runner may run jobs of the job's repo at all, by where it is registered. */
export function reaches(
  runner: Pick<AssignableRunner, 'repo' | 'org' | 'admits'>,
  job: Pick<AssignableJob, 'repo'>,
): boolean {
  if (runner.org === undefined) return runner.repo === job.repo;
  const owner = job.repo.split('/')[0]!.toLowerCase();
  return owner === runner.org.toLowerCase() && (runner.admits?.(job.repo) ?? true);
}

/** A scale set's jobs go to its runners alone, once acquired; other runners never see them. */
export function sameScaleSet(
  runner: Pick<AssignableRunner, 'scaleSetId'>,
  job: Pick<AssignableJob, 'scaleSetId' | 'acquired'>,
): boolean {
  if (runner.scaleSetId === undefined) return job.scaleSetId === undefined;
  return job.scaleSetId === runner.scaleSetId && job.acquired === true;
}

export function covers(runner: Pick<AssignableRunner, 'labels'>, job: Pick<AssignableJob, 'labels'>): boolean {
  const have = new Set(runner.labels.map((l) => l.toLowerCase()));
  return job.labels.every((l) => have.has(l.toLowerCase()));
}

/** The job a runner coming online (or freed) takes: the oldest queued one it covers. `jobs` is in queueing order. */
export function jobFor<J extends AssignableJob>(runner: AssignableRunner, jobs: Iterable<J>): J | undefined {
  for (const job of jobs)
    if (reaches(runner, job) && job.status === 'queued' && sameScaleSet(runner, job) && covers(runner, job)) return job;
  return undefined;
}

/** The idle online runner a newly queued job goes to at once, if any. */
export function runnerFor<R extends AssignableRunner>(job: AssignableJob, runners: Iterable<R>): R | undefined {
  for (const runner of runners)
    if (
      reaches(runner, job) &&
      runner.status === 'online' &&
      !runner.busy &&
      sameScaleSet(runner, job) &&
      covers(runner, job)
    )
      return runner;
  return undefined;
}
