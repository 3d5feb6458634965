// The runner a taken job gets: its name, its JIT request and its container, derived from the profile alone.
import { randomBytes } from 'node:crypto';
import type { Profile } from '../config/config.js';
import { runnerLabels } from './profile-match.js';
import type { DockerMount } from '../lanes/lane-layout.js';
import { LABEL, type RunnerIdentity } from '../model/runner.js';
import { profileContainer, type ContainerSpec } from '../docker/container-spec.js';
import { SECRET_VARIABLES } from '../observe/secret-values.js';

/**
 * The start of every runner name one controller instance registers. The default instance keeps the short
 * `factory-`; others add `factory.<instance>-`, which `factory-` never matches, so one instance's orphan sweep can
 * never delete another's runners.
 */
export function runnerPrefix(instance: string): string {
  return instance === 'default' ? 'factory-' : `factory.${instance}-`;
}

/** Unique, readable and valid both as a GitHub runner name and a Docker container name (max 64 chars). */
export function runnerName(
  repo: string,
  jobId: number,
  instance = 'default',
  random = randomBytes(3).toString('hex'),
): string {
  const prefix = runnerPrefix(instance);
  const tail = `-${jobId}-${random}`;
  const name = repo
    .split('/')[1]!
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-')
    .slice(0, Math.max(8, 64 - prefix.length - tail.length));
  return `${prefix}${name}${tail}`.slice(0, 64);
}

/** Runner group 1 is the default group; an org-level runner's configured group replaces it once resolved. */
export function jitRequest(name: string, profile: Profile, workFolder: string) {
  return { name, runner_group_id: 1, labels: runnerLabels(profile), work_folder: workFolder };
}

/** What a lane adds to the container: mounts from lane-layout and contract variables; never a secret value. */
export interface LaneExtras {
  mounts: DockerMount[];
  env: Record<string, string>;
}

/** Docker create options. The image's own command runs (`/home/runner/run.sh`), as the official runner image expects. */
export function containerSpec(
  id: RunnerIdentity,
  profile: Profile,
  encodedJitConfig: string,
  lane: LaneExtras = { mounts: [], env: {} },
): ContainerSpec {
  const spec = profileContainer(profile, {
    name: id.runnerName,
    env: { ...profile.env, ...lane.env },
    labels: {
      [LABEL.managed]: 'true',
      [LABEL.instance]: id.instance,
      [LABEL.repo]: id.repo,
      [LABEL.profile]: id.profileName,
      [LABEL.jobId]: String(id.jobId),
      [LABEL.runnerId]: String(id.runnerId),
      [LABEL.runnerName]: id.runnerName,
      ...(id.org ? { [LABEL.org]: id.org } : {}),
      [LABEL.secretEnv]: SECRET_VARIABLES.join(','),
    },
    mounts: lane.mounts,
  });
  return { ...spec, Env: [...spec.Env, `ACTIONS_RUNNER_INPUT_JITCONFIG=${encodedJitConfig}`] };
}

/**
 * Whether `name` is a runner this instance registers for `repo`. The whole name is rebuilt and compared, not only its
 * start: `factory.redteam-` is also the start of every name instance `redteam-b` registers.
 */
export function isOwnRunnerName(name: string, repo: string, instance: string): boolean {
  const tail = /-(\d+)-([0-9a-f]{6})$/.exec(name);
  return tail !== null && runnerName(repo, Number(tail[1]), instance, tail[2]) === name;
}

/** A container spec with the runner GitHub registered filled in: its id on the labels, its JIT config in the env. */
export function withRegisteredRunner(spec: ContainerSpec, runnerId: number, encodedJitConfig: string): ContainerSpec {
  return {
    ...spec,
    Env: [
      ...spec.Env.filter((e) => !e.startsWith('ACTIONS_RUNNER_INPUT_JITCONFIG=')),
      `ACTIONS_RUNNER_INPUT_JITCONFIG=${encodedJitConfig}`,
    ],
    Labels: { ...spec.Labels, [LABEL.runnerId]: String(runnerId) },
  };
}
