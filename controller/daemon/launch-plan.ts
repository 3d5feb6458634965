// Everything a taken job's launch will do, decided in one pure function and returned whole: the runner's name and
// identity, its JIT request, its job folder, its mounts and environment, its container. launcher.ts carries it out.
import type { Config } from '../config/config.js';
import { cacheScope, laneMounts, withSecretVariables } from '../lanes/lane-layout.js';
import type { PendingJob } from '../model/job.js';
import type { RunnerIdentity } from '../model/runner.js';
import { containerSpec, jitRequest, runnerName } from './runner-spec.js';
import type { ContainerSpec } from '../docker/container-spec.js';
import { findRepo } from './profile-match.js';
import { sidecarPlan, withJobDocker, type SidecarPlan } from '../docker/job-docker-plan.js';
import { egressPlan, type EgressPlan } from '../egress/egress-plan.js';

export interface LaunchPlan {
  identity: RunnerIdentity;
  jit: ReturnType<typeof jitRequest>;
  /** The job folder prepareJobFolder makes for the lane's auth copies and MCP files. */
  jobFolder: { profileName: string; profile: PendingJob['profile']; runnerName: string };
  /** Complete but for what only GitHub's answer gives: the runner id and JIT config (see withRegisteredRunner). */
  container: ContainerSpec;
  /** The job's own Docker engine, when its profile opts in (docs/job-docker.md). */
  sidecar?: SidecarPlan;
  /** The job's egress gateway and network, when its profile has `egress` (docs/lanes.md#egress). */
  egress?: EgressPlan;
}

/**
 * `envNames` are the keys of the profile's env files, read beforehand (the plan itself touches no disk). Their values
 * never enter the container's environment: a lane gets them in its release folder once its assignment is verified.
 */
export function planLaunch(config: Config, job: PendingJob, envNames: readonly string[], random?: string): LaunchPlan {
  const identity = runnerIdentity(config, job, random);
  const name = identity.runnerName;
  const lane = laneMounts(config, job.profileName, job.profile, cacheScope(identity), name);
  const sidecar = sidecarPlan(identity, job.profile);
  const egress = egressPlan(identity, job.profile);
  // The env-file names (never values) tell the action which released variables to mask.
  const container = containerSpec(identity, job.profile, '', {
    mounts: lane.mounts,
    env: withSecretVariables(lane.env, [...envNames]),
  });
  return {
    identity,
    jit: jitRequest(name, job.profile, config.workFolder),
    jobFolder: { profileName: job.profileName, profile: job.profile, runnerName: name },
    container: sidecar ? withJobDocker(container, sidecar) : container,
    ...(sidecar ? { sidecar } : {}),
    ...(egress ? { egress } : {}),
  };
}

/** The runner's name and identity alone: known before anything can fail, so the runner is recorded first. */
export function runnerIdentity(config: Config, job: PendingJob, random?: string): RunnerIdentity {
  const name = runnerName(job.repo, job.jobId, config.instance, random);
  const org = findRepo(config, job.repo)?.org?.name;
  return {
    instance: config.instance,
    repo: job.repo,
    profileName: job.profileName,
    jobId: job.jobId,
    runnerId: 0,
    runnerName: name,
    ...(org ? { org } : {}),
  };
}
