// How GitHub hands queued jobs to self-hosted runners, as the stand-in and the tests' in-memory model both play it:
// a runner that comes online takes the OLDEST queued job whose labels it covers, whichever job caused it to be made;
// a job queued while a matching runner idles goes to that runner at once. Labels compare case-insensitively.

export interface AssignableJob {
  id: number;
  repo: string;
  labels: string[];
  status: string;
}
export interface AssignableRunner {
  repo: string;
  labels: string[];
  status: string;
  busy: boolean;
}

export function covers(runner: Pick<AssignableRunner, 'labels'>, job: Pick<AssignableJob, 'labels'>): boolean {
  const have = new Set(runner.labels.map((l) => l.toLowerCase()));
  return job.labels.every((l) => have.has(l.toLowerCase()));
}

/** The job a runner coming online (or freed) takes: the oldest queued one it covers. `jobs` is in queueing order. */
export function jobFor<J extends AssignableJob>(runner: AssignableRunner, jobs: Iterable<J>): J | undefined {
  for (const job of jobs) if (job.repo === runner.repo && job.status === 'queued' && covers(runner, job)) return job;
  return undefined;
}

/** The idle online runner a newly queued job goes to at once, if any. */
export function runnerFor<R extends AssignableRunner>(job: AssignableJob, runners: Iterable<R>): R | undefined {
  for (const runner of runners)
    if (runner.repo === job.repo && runner.status === 'online' && !runner.busy && covers(runner, job)) return runner;
  return undefined;
}
