// The launcher's hook for a job's own Docker engine, in order: the sidecar before GitHub holds a runner, and no
// sidecar left behind by a launch that fails at any later step.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../controller/config/config.js';
import type { Engine } from '../../controller/docker/docker-engine.js';
import type { JobDocker } from '../../controller/docker/job-docker.js';
import type { SidecarPlan } from '../../controller/docker/job-docker-plan.js';
import { recordingGitHub } from '../support/recording-github.js';
import { carryOut } from '../../controller/daemon/launcher.js';
import { planLaunch } from '../../controller/daemon/launch-plan.js';

const stateDir = mkdtempSync(join(tmpdir(), 'factory-jd-launch-'));
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

const config = configSchema.parse({
  github: { auth: { tokenEnv: 'T' }, webhook: { secret: { env: 'S' } } },
  stateDir,
  profiles: {
    docker: { labels: ['self-hosted', 'docker'], image: 'runner:1', docker: { sidecar: true } },
    plain: { labels: ['self-hosted', 'plain'], image: 'runner:1' },
  },
  repos: [{ repo: 'o/r', profiles: ['docker', 'plain'] }],
});
const job = (profileName: 'docker' | 'plain') => ({
  jobId: 42,
  repo: 'o/r',
  profileName,
  profile: config.profiles[profileName]!,
  receivedAt: 0,
  key: 'o/r',
  limits: [],
});

/** Records every step of the launch, in order, across GitHub, the engine and the sidecars. */
function world(fail: { sidecar?: boolean; jit?: boolean; container?: boolean } = {}) {
  const steps: string[] = [];
  const github = recordingGitHub(steps, fail);
  const engine = {
    async run(spec: { HostConfig: { NetworkMode: string } }) {
      steps.push(`run ${spec.HostConfig.NetworkMode}`);
      if (fail.container) throw Object.assign(new Error('no such image'), { statusCode: 404 });
      return 'c1';
    },
  } as unknown as Engine;
  const jobDocker: JobDocker = {
    async start(plan: SidecarPlan) {
      steps.push(`sidecar ${plan.name}`);
      if (fail.sidecar) throw new Error(`docker sidecar ${plan.name} did not start: it exited: rootlesskit: EPERM`);
    },
    async remove(runner) {
      steps.push(`remove sidecar ${runner}-docker`);
    },
    sweep: async () => [],
  };
  return { steps, deps: { config, github, engine, jobDocker, registered: () => {} } };
}

describe('launching a job with its own Docker engine', () => {
  it('starts the sidecar first, then registers the runner, then runs the job in its network namespace', async () => {
    const { steps, deps } = world();
    const plan = planLaunch(config, job('docker'), []);
    const outcome = await carryOut(deps, plan, job('docker'));
    const sidecar = `${plan.identity.runnerName}-docker`;
    expect(outcome).toEqual({ kind: 'started', containerId: 'c1' });
    expect(steps).toEqual([`sidecar ${sidecar}`, 'jit', `run container:${sidecar}`]);
  });

  it('a sidecar that cannot start fails the job with its reason before GitHub holds a runner', async () => {
    const { steps, deps } = world({ sidecar: true });
    const plan = planLaunch(config, job('docker'), []);
    const outcome = await carryOut(deps, plan, job('docker'));
    expect(outcome).toMatchObject({
      kind: 'failed',
      retry: false,
      failure: expect.stringContaining('rootlesskit: EPERM'),
    });
    expect(steps).toEqual([`sidecar ${plan.identity.runnerName}-docker`]);
  });

  it('a JIT or container failure after the sidecar removes it', async () => {
    for (const fail of [{ jit: true }, { container: true }]) {
      const { steps, deps } = world(fail);
      const plan = planLaunch(config, job('docker'), []);
      const outcome = await carryOut(deps, plan, job('docker'));
      expect(outcome.kind).toBe('failed');
      expect(steps.at(-1)).toBe(`remove sidecar ${plan.identity.runnerName}-docker`);
    }
  });

  it('a plain job starts no sidecar and keeps its profile network; a docker job without sidecars is refused', async () => {
    const { steps, deps } = world();
    await carryOut(deps, planLaunch(config, job('plain'), []), job('plain'));
    expect(steps).toEqual(['jit', 'run bridge']);

    const { jobDocker: _, ...without } = world().deps;
    const outcome = await carryOut(without, planLaunch(config, job('docker'), []), job('docker'));
    expect(outcome).toMatchObject({
      kind: 'failed',
      failure: 'profile docker asks for docker, which this backend cannot run',
    });
  });
});
