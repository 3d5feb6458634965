// The runner a taken job gets: its name, its JIT request and its container, derived from the profile alone.
import { randomBytes } from 'node:crypto';
import type { Profile } from '../config/config.js';
import { runnerLabels } from './profile-match.js';
import type { DockerMount } from '../lanes/lane-layout.js';
import { LABEL, type RunnerIdentity } from '../model/runner.js';

// Older imports name these here; the types live in controller/model so Docker and observe need not reach into daemon.
export { LABEL, identityFromLabels, type RunnerIdentity } from '../model/runner.js';
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

/**
 * The container user, always explicit: the job's workspace and auth copies are chowned to it, and an image whose
 * USER is root must not turn a Tier-1 job into root. The runner image's user is UID 1000.
 */
export const containerUser = (profile: Profile) => profile.user ?? '1000:1000';

// What Docker leaves open by default. The runner runs as uid 1000 and needs no capability for a plain job (the
// default set only matters to root); a log cap keeps a job that prints without end from filling the host's disk;
// no core files, which would hold whatever secrets the process had in memory.
export const hardening = (profile: Profile) => ({
  CapDrop: ['ALL'],
  // The agent-user helper changes uid and gid (docs/lane-isolation.md); nothing else is added for it.
  CapAdd: [...profile.capAdd, ...(profile.agentUser ? ['SETUID', 'SETGID'] : [])],
  // The runner shares the agent's group (its private home is 2770): an explicit "uid:gid" user gets no supplementary
  // groups from the image's /etc/group, so the agent's gid is added here.
  ...(profile.agentUser ? { GroupAdd: [profile.agentUser.split(':')[1]!] } : {}),
  LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '2' } },
  Ulimits: [
    { Name: 'nofile', Soft: profile.nofile, Hard: profile.nofile },
    { Name: 'nproc', Soft: profile.nproc, Hard: profile.nproc },
    { Name: 'core', Soft: 0, Hard: 0 },
  ],
});

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
) {
  const env = Object.entries({ ...profile.env, ...lane.env }).map(([k, v]) => `${k}=${v}`);
  return {
    name: id.runnerName,
    Image: profile.image,
    Env: [...env, `ACTIONS_RUNNER_INPUT_JITCONFIG=${encodedJitConfig}`],
    User: containerUser(profile),
    Labels: {
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
    HostConfig: profileHostConfig(profile, lane.mounts),
  };
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

export type ContainerSpec = ReturnType<typeof containerSpec>;

/** The limits and hardening a profile's container gets, the same for a job's runner and for `factory lane run`. */
export function profileHostConfig(profile: Profile, mounts: DockerMount[]) {
  return {
    NanoCpus: Math.round(profile.cpus * 1e9),
    Memory: profile.memory,
    PidsLimit: profile.pids,
    NetworkMode: profile.network,
    Privileged: false,
    // The agent-user helper switches uid by file capabilities, which no-new-privileges would void; the agent's own
    // tree still runs with no_new_privs (the helper sets it), so only the runner's user keeps the image's setuid files.
    SecurityOpt: profile.agentUser ? [] : ['no-new-privileges'],
    ...hardening(profile),
    // tini as PID 1 forwards SIGTERM to the runner and reaps the processes jobs leave behind.
    Init: profile.init,
    ReadonlyRootfs: profile.readOnlyRootfs,
    // A read-only root still needs a scratch /tmp; the workspace comes from a workspace mount.
    ...(profile.readOnlyRootfs ? { Tmpfs: { '/tmp': 'rw,nosuid,nodev,size=1g' } } : {}),
    Mounts: mounts,
  };
}
