// A job's own Docker engine, planned: the sidecar container that runs the daemon, the volume that carries its socket
// to the job, and what the job's container gets (the socket, DOCKER_HOST, the sidecar's network namespace). Pure:
// job-docker.ts carries it out. docs/job-docker.md says what each choice isolates.
import type Docker from 'dockerode';
import type { Profile } from '../config/config.js';
import type { ContainerSpec } from './container-spec.js';
import { LABEL, type RunnerIdentity } from '../model/runner.js';

/** On the sidecar and its socket volume: the runner they serve. Never on anything else. */
export const JOB_DOCKER_LABEL = 'factory.job-docker';

/** Where the socket's volume is mounted in the job's container, and the DOCKER_HOST that points there. */
export const SOCKET_DIR_IN_JOB = '/run/factory-docker';
export const DOCKER_HOST = `unix://${SOCKET_DIR_IN_JOB}/docker.sock`;
const SOCKET_DIR_IN_SIDECAR = '/factory/docker';
const DATA_ROOT = '/var/lib/factory-docker';
const SIDECAR_USER = '1000:1000';

export interface SidecarPlan {
  runnerName: string;
  instance: string;
  profileName: string;
  /** The sidecar container's name; its socket volume has the same. */
  name: string;
  mode: 'rootless' | 'privileged';
  image: string | undefined;
  storage: number;
  memory: number;
  cpus: number;
  pids: number;
  /** The sidecar's network; the job's container joins its namespace unless `sharesNetwork` is false. */
  network: string;
  /**
   * False on a host-network profile (trusted only): the job keeps the host's network and the sidecar gets none, so
   * nothing it publishes lands on the host. Its services are then reached from containers on its own networks.
   */
  sharesNetwork: boolean;
}

export const sidecarName = (runnerName: string) => `${runnerName}-docker`;

export function sidecarPlan(identity: RunnerIdentity, profile: Profile): SidecarPlan | undefined {
  const d = profile.docker;
  if (d === undefined) return undefined;
  const onHost = profile.network.trim().toLowerCase() === 'host';
  return {
    runnerName: identity.runnerName,
    instance: identity.instance,
    profileName: identity.profileName,
    name: sidecarName(identity.runnerName),
    mode: d.mode,
    image: d.image,
    storage: d.storage,
    memory: d.memory,
    cpus: profile.cpus,
    pids: profile.pids,
    network: onHost ? 'none' : profile.network,
    sharesNetwork: !onHost,
  };
}

const labels = (plan: SidecarPlan) => ({ [JOB_DOCKER_LABEL]: plan.runnerName, [LABEL.instance]: plan.instance });

/** The socket's folder: a tiny tmpfs owned by the daemon's user, mounted by the sidecar and the job alone. */
export function socketVolumeSpec(plan: SidecarPlan): Docker.VolumeCreateOptions {
  return {
    Name: plan.name,
    Driver: 'local',
    DriverOpts: { type: 'tmpfs', device: 'tmpfs', o: 'size=1m,uid=1000,gid=1000,mode=0755' },
    Labels: labels(plan),
  };
}

/**
 * The daemon's container. Rootless needs three things Docker withholds by default, none of them a capability: no
 * seccomp filter (rootlesskit unshares user and mount namespaces), /proc unmasked (the kernel lets a user namespace
 * mount a fresh /proc only where none of it is covered) and /dev/net/tun (slirp4netns, the daemon's network).
 * Storage is a tmpfs of the profile's size: a hard limit the kernel keeps, gone with the container. Of the outer
 * capabilities it keeps only SETUID and SETGID, which newuidmap and newgidmap carry as file capabilities to map the
 * daemon's sub-uids (a new user namespace starts with a full set of its own, whatever the bounding set outside). No
 * no-new-privileges: it voids those file capabilities ("newuidmap: write to uid_map failed"); the image has no setuid
 * or setgid file instead.
 */
export function sidecarContainerSpec(plan: SidecarPlan, image: string): Docker.ContainerCreateOptions {
  const privileged = plan.mode === 'privileged';
  return {
    name: plan.name,
    Image: image,
    User: privileged ? '0:0' : SIDECAR_USER,
    Labels: labels(plan),
    HostConfig: {
      NetworkMode: plan.network,
      NanoCpus: Math.round(plan.cpus * 1e9),
      // The tmpfs is charged to this container's memory, and with cgroup v1 a rootless daemon's containers stay in
      // this container's cgroup: one limit covers storage, the daemon and everything the job runs through it.
      Memory: plan.memory + plan.storage,
      PidsLimit: plan.pids,
      Init: true,
      Privileged: privileged,
      ...(privileged
        ? {}
        : {
            CapDrop: ['ALL'],
            CapAdd: ['SETUID', 'SETGID'],
            SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined'],
            MaskedPaths: [],
            ReadonlyPaths: [],
            Devices: [{ PathOnHost: '/dev/net/tun', PathInContainer: '/dev/net/tun', CgroupPermissions: 'rwm' }],
          }),
      Tmpfs: { [DATA_ROOT]: `size=${plan.storage},uid=1000,gid=1000,mode=0700` },
      Mounts: [{ Type: 'volume', Source: plan.name, Target: SOCKET_DIR_IN_SIDECAR }],
      LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '2' } },
      Ulimits: [{ Name: 'core', Soft: 0, Hard: 0 }],
    },
  };
}

/** The job's container with its engine: the socket, DOCKER_HOST, and (unless on the host's) the sidecar's network. */
export function withJobDocker(spec: ContainerSpec, plan: SidecarPlan): ContainerSpec {
  return {
    ...spec,
    Env: [...spec.Env.filter((e) => !e.startsWith('DOCKER_HOST=')), `DOCKER_HOST=${DOCKER_HOST}`],
    HostConfig: {
      ...spec.HostConfig,
      // Sharing the namespace puts the services' published ports (bound to 127.0.0.1 by the daemon) on the job's
      // localhost, as on a GitHub-hosted runner, and on no other container's.
      ...(plan.sharesNetwork ? { NetworkMode: `container:${plan.name}` } : {}),
      Mounts: [...spec.HostConfig.Mounts, { Type: 'volume', Source: plan.name, Target: SOCKET_DIR_IN_JOB }],
    },
  };
}
