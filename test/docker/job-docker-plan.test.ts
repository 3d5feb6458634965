// The plan of a job's own Docker engine: what the sidecar is given and withheld, and what the job's container gets.
import { describe, expect, it } from 'vitest';
import { profileSchema } from '../../controller/config/config.js';
import { containerSpec } from '../../controller/daemon/runner-spec.js';
import {
  DOCKER_HOST,
  sidecarContainerSpec,
  sidecarPlan,
  socketVolumeSpec,
  withJobDocker,
} from '../../controller/docker/job-docker-plan.js';

const identity = {
  instance: 'default',
  repo: 'o/r',
  profileName: 'docker',
  jobId: 7,
  runnerId: 0,
  runnerName: 'factory-r-7-abcdef',
};
const profile = (extra: Record<string, unknown> = {}) =>
  profileSchema.parse({
    labels: ['self-hosted', 'docker'],
    image: 'factory/base:1',
    docker: { sidecar: true, storage: '4g', memory: '1g' },
    ...extra,
  });

describe('the plan of a job with its own Docker engine', () => {
  it('is nothing for a profile without the opt-in', () => {
    expect(sidecarPlan(identity, profile({ docker: undefined }))).toBeUndefined();
  });

  it('runs the rootless sidecar as uid 1000, unprivileged, with SETUID and SETGID alone and its storage a sized tmpfs', () => {
    const spec = sidecarContainerSpec(sidecarPlan(identity, profile())!, 'sidecar:1');
    expect(spec.User).toBe('1000:1000');
    expect(spec.HostConfig).toMatchObject({
      Privileged: false,
      NetworkMode: 'bridge',
      Memory: 5 * 1024 ** 3,
      SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined'],
      MaskedPaths: [],
      Tmpfs: { '/var/lib/factory-docker': `size=${4 * 1024 ** 3},uid=1000,gid=1000,mode=0700` },
    });
    expect(spec.HostConfig).toMatchObject({ CapDrop: ['ALL'], CapAdd: ['SETUID', 'SETGID'] });
    expect(spec.HostConfig!.Devices).toEqual([
      { PathOnHost: '/dev/net/tun', PathInContainer: '/dev/net/tun', CgroupPermissions: 'rwm' },
    ]);
    expect(spec.HostConfig!.Mounts).toEqual([
      { Type: 'volume', Source: 'factory-r-7-abcdef-docker', Target: '/factory/docker' },
    ]);
    expect(spec.Labels).toEqual({ 'factory.job-docker': 'factory-r-7-abcdef', 'factory.instance': 'default' });
  });

  it('runs a privileged sidecar as root only when the profile says so', () => {
    const p = profile({ docker: { sidecar: true, mode: 'privileged', reason: 'no user namespaces' } });
    const spec = sidecarContainerSpec(sidecarPlan(identity, p)!, 'sidecar:1');
    expect(spec.User).toBe('0:0');
    expect(spec.HostConfig!.Privileged).toBe(true);
  });

  it('gives the job the socket volume, DOCKER_HOST and the sidecar network namespace, nothing of the host', () => {
    const plan = sidecarPlan(identity, profile())!;
    const job = withJobDocker(containerSpec(identity, profile(), ''), plan);
    expect(job.Env).toContain(`DOCKER_HOST=${DOCKER_HOST}`);
    expect(job.HostConfig.NetworkMode).toBe('container:factory-r-7-abcdef-docker');
    expect(job.HostConfig.Mounts).toEqual([
      { Type: 'volume', Source: 'factory-r-7-abcdef-docker', Target: '/run/factory-docker' },
    ]);
    expect(socketVolumeSpec(plan).DriverOpts).toEqual({
      type: 'tmpfs',
      device: 'tmpfs',
      o: 'size=1m,uid=1000,gid=1000,mode=0755',
    });
  });

  it('on a host-network profile the job keeps the host network and the sidecar gets none', () => {
    const p = profile({ network: 'host', trusted: true });
    const plan = sidecarPlan(identity, p)!;
    expect(plan).toMatchObject({ network: 'none', sharesNetwork: false });
    expect(withJobDocker(containerSpec(identity, p, ''), plan).HostConfig.NetworkMode).toBe('host');
  });
});
