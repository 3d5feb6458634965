// Jobs that need Docker, through the controller end to end: the loopback GitHub stand-in, the real engine, a runner
// image with the docker CLI. A job on the opt-in profile builds an image and reaches a services:-like Postgres
// stand-in through its own engine; the same job on a plain profile is refused; nothing remains, also when the
// controller was away while the job ended or died between starting the sidecar and the job's container.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { jobDocker } from '../../controller/docker/job-docker.js';
import { JOB_DOCKER_LABEL, sidecarPlan } from '../../controller/docker/job-docker-plan.js';
import { LABEL } from '../../controller/model/runner.js';
import { profileSchema } from '../../controller/config/config.js';
import { docker, startHarness, waitFor, type Harness } from '../support/harness.js';
import { ensureDockerRunnerImage, ensureSidecarImage } from '../support/docker-sidecar.js';

const DOCKER_LABELS = ['self-hosted', 'factory', 'docker'];
const PLAIN_LABELS = ['self-hosted', 'factory', 'plain'];
let runnerImage: string;
let sidecarImage: string;
let results: string;
let h: Harness | undefined;

beforeAll(async () => {
  runnerImage = await ensureDockerRunnerImage(docker);
  sidecarImage = await ensureSidecarImage(docker);
}, 600_000);
beforeEach(() => {
  results = mkdtempSync(join(tmpdir(), 'factory-jobdocker-'));
  chmodSync(results, 0o777);
});
afterEach(async () => {
  const instance = h?.config.instance;
  await h?.stop();
  h = undefined;
  rmSync(results, { recursive: true, force: true });
  if (instance) expect(await leftovers(instance)).toEqual([]);
});

/** Sidecars and socket volumes of one controller instance. */
async function leftovers(instance: string) {
  const filters = JSON.stringify({ label: [JOB_DOCKER_LABEL, `${LABEL.instance}=${instance}`] });
  const containers = await docker.listContainers({ all: true, filters });
  const volumes = (await docker.listVolumes({ filters })).Volumes ?? [];
  return [...containers.map((c) => c.Names[0]), ...volumes.map((v) => v.Name)];
}

// What a workflow with `services: postgres` and `container:` asks of the engine: a network, the service on it under
// its alias, the job's steps in a container on the same network. The Postgres stand-in is built by the job itself.
const SERVICES_JOB = `{
set -e
cd "$(mktemp -d)" && cp /usr/local/bin/busybox .
printf 'FROM scratch\\nCOPY busybox /bin/busybox\\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\\n' > Dockerfile
docker build -q -t pg-standin . >/dev/null && echo "docker build: ok"
docker network create services >/dev/null
docker run -d --name postgres --network services --network-alias postgres pg-standin sh -c 'while :; do echo PG-STANDIN ready | nc -l -p 5432; done' >/dev/null
docker run --rm --network services pg-standin sh -c 'for i in $(seq 1 50); do a=$(nc postgres 5432 </dev/null 2>/dev/null) && [ -n "$a" ] && { echo "service said: $a"; exit 0; }; sleep 0.1; done; exit 1'
} >/results/out.txt 2>&1`;

const PLAIN_JOB = `{ echo "DOCKER_HOST=\${DOCKER_HOST:-unset}"; docker info; echo "rc=$?"; } >/results/out.txt 2>&1`;

const profileFor = (command: string) => ({
  image: runnerImage,
  memory: '512m',
  pids: 1024,
  mounts: [{ kind: 'bind', source: results, target: '/results', mode: 'rw' }],
  env: { STANDIN_JOB_COMMAND: command },
});

describe('jobs that need Docker', () => {
  it('a job on the opt-in profile builds an image and reaches its service; its engine goes with it', async () => {
    h = await startHarness({
      profile: {
        labels: DOCKER_LABELS,
        docker: { sidecar: true, storage: '1g', memory: '512m' },
        ...profileFor(SERVICES_JOB),
      },
    });
    const jobId = await h.github.queueJob(h.repo, DOCKER_LABELS);
    await waitFor('the sidecar', async () => (await leftovers(h!.config.instance)).length === 2, 60_000);
    await waitFor(
      'the job',
      () => h!.github.jobs.get(jobId)?.status === 'completed' && h!.service.controller.snapshot().runners.length === 0,
      120_000,
    );

    const out = readFileSync(join(results, 'out.txt'), 'utf8');
    expect(out).toContain('docker build: ok');
    expect(out).toContain('service said: PG-STANDIN ready');
    await waitFor('the sidecar to go', async () => (await leftovers(h!.config.instance)).length === 0);
  }, 180_000);

  it('the same job on a plain profile is refused clearly: no DOCKER_HOST, no socket', async () => {
    h = await startHarness({ profile: { labels: PLAIN_LABELS, ...profileFor(PLAIN_JOB) } });
    const jobId = await h.github.queueJob(h.repo, PLAIN_LABELS);
    await waitFor(
      'the job',
      () => h!.github.jobs.get(jobId)?.status === 'completed' && h!.service.controller.snapshot().runners.length === 0,
      60_000,
    );

    const out = readFileSync(join(results, 'out.txt'), 'utf8');
    expect(out).toContain('DOCKER_HOST=unset');
    expect(out).toContain(
      'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?',
    );
    expect(out).toContain('rc=1');
    expect(await leftovers(h.config.instance)).toEqual([]);
  }, 120_000);

  it('after a restart, the engine of a job that ended while the controller was away goes with its container', async () => {
    h = await startHarness({
      jobSeconds: 600,
      profile: {
        labels: DOCKER_LABELS,
        docker: { sidecar: true, storage: '1g', memory: '512m' },
        ...profileFor('true'),
      },
    });
    const jobId = await h.github.queueJob(h.repo, DOCKER_LABELS);
    // The job running, not just its container: a container killed before its runner took the job leaves the job
    // queued, and the restarted controller rightly starts a fresh runner (and engine) for it.
    const [job] = await waitFor(
      'the job running in its container',
      async () => {
        const list = await h!.containers(false);
        return list.length > 0 && h!.github.jobs.get(jobId)?.status === 'in_progress' ? list : undefined;
      },
      60_000,
    );
    await h.service.stop();
    await docker.getContainer(job!.Id).kill();
    expect(await leftovers(h.config.instance)).toHaveLength(2);

    await h.restart();
    await h.service.reconciler.runOnce();

    await waitFor(
      'the job and its engine to go',
      async () => (await h!.containers()).length === 0 && (await leftovers(h!.config.instance)).length === 0,
    );
  }, 180_000);

  it('the reconciler removes a sidecar whose runner never got a container (a launch cut short)', async () => {
    h = await startHarness();
    const runnerName = `factory-orphan-1-${randomBytes(3).toString('hex')}`;
    const profile = profileSchema.parse({
      labels: DOCKER_LABELS,
      image: runnerImage,
      network: 'none',
      docker: { sidecar: true, storage: '512m', memory: '256m' },
    });
    const identity = {
      instance: h.config.instance,
      repo: h.repo,
      profileName: 'ci',
      jobId: 1,
      runnerId: 0,
      runnerName,
    };
    await jobDocker(docker, { instance: h.config.instance, defaultImage: async () => sidecarImage }).start(
      sidecarPlan(identity, profile)!,
    );
    expect(await leftovers(h.config.instance)).toHaveLength(2);

    await h.service.reconciler.runOnce();

    expect(await leftovers(h.config.instance)).toEqual([]);
  }, 120_000);
});
