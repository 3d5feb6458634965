// The container a profile runs, assembled in one place for a job's runner, `factory lane run` and `factory doctor`:
// image, user, environment, labels, limits and hardening. Each caller adds only what is its own (a job its JIT
// config, a lane run its command and terminal, the doctor its probe), so what a probe or a lane run can do is what
// a job can do.
import type { Profile } from '../config/config.js';
import type { DockerMount } from '../lanes/lane-layout.js';

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

/** The limits and hardening a profile's container gets. */
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

/** What a caller gives the profile's container: everything else comes from the profile. */
export interface ContainerParts {
  name: string;
  /** In this order, later keys winning: the caller merges the profile's env with its own. */
  env: Record<string, string>;
  labels: Record<string, string>;
  mounts: DockerMount[];
}

/** Docker create options. Without an entrypoint of the caller's, the image's own command runs. */
export function profileContainer(profile: Profile, parts: ContainerParts) {
  return {
    name: parts.name,
    Image: profile.image,
    Env: Object.entries(parts.env).map(([k, v]) => `${k}=${v}`),
    User: containerUser(profile),
    Labels: parts.labels,
    HostConfig: profileHostConfig(profile, parts.mounts),
  };
}

export type ContainerSpec = ReturnType<typeof profileContainer>;
