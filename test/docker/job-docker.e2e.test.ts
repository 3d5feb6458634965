// A job's own Docker engine on the real engine, without the controller: the sidecar starts, a job's container
// drives it through the socket alone (docker build, a published service on its localhost), nothing else reaches it,
// and removal and the sweep leave nothing behind.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { profileSchema } from '../../controller/config/config.js';
import { containerSpec } from '../../controller/daemon/runner-spec.js';
import { dockerEngine } from '../../controller/docker/docker-engine.js';
import { jobDocker, type JobDocker } from '../../controller/docker/job-docker.js';
import { JOB_DOCKER_LABEL, sidecarPlan, withJobDocker } from '../../controller/docker/job-docker-plan.js';
import { LABEL } from '../../controller/model/runner.js';
import { docker } from '../support/harness.js';
import { ensureDockerRunnerImage, ensureSidecarImage } from '../support/docker-sidecar.js';

const instance = `jdtest-${randomBytes(4).toString('hex')}`;
const engine = dockerEngine('/var/run/docker.sock', instance);
const network = `factory-jdtest-${randomBytes(3).toString('hex')}`;
let runnerImage: string;
let sidecars: JobDocker;

beforeAll(async () => {
  runnerImage = await ensureDockerRunnerImage(docker);
  const sidecarImage = await ensureSidecarImage(docker);
  sidecars = jobDocker(docker, { instance, defaultImage: async () => sidecarImage });
  await docker.createNetwork({ Name: network, Labels: { [LABEL.instance]: instance } });
}, 600_000);

afterAll(async () => {
  const filters = JSON.stringify({ label: [`${LABEL.instance}=${instance}`] });
  for (const c of await docker.listContainers({ all: true, filters }))
    await docker
      .getContainer(c.Id)
      .remove({ force: true })
      .catch(() => {});
  for (const v of (await docker.listVolumes({ filters })).Volumes ?? [])
    await docker
      .getVolume(v.Name)
      .remove()
      .catch(() => {});
  await docker
    .getNetwork(network)
    .remove()
    .catch(() => {});
});

const profile = (extra: Record<string, unknown> = {}) =>
  profileSchema.parse({
    labels: ['self-hosted', 'docker'],
    image: runnerImage,
    network,
    cpus: 1,
    memory: '512m',
    pids: 1024,
    docker: { sidecar: true, storage: '1g', memory: '512m' },
    ...extra,
  });

const identity = (runnerName: string) => ({
  instance,
  repo: 'factory-test/job-docker',
  profileName: 'docker',
  jobId: 1,
  runnerId: 1,
  runnerName,
});

const newRunner = () => `factory-jdtest-${randomBytes(3).toString('hex')}`;

/** What Docker holds for a runner's engine: its sidecar containers and socket volumes, by label. */
async function leftovers(runner: string) {
  const filters = JSON.stringify({ label: [`${JOB_DOCKER_LABEL}=${runner}`] });
  const containers = await docker.listContainers({ all: true, filters });
  const volumes = (await docker.listVolumes({ filters })).Volumes ?? [];
  return [...containers.map((c) => c.Names[0]), ...volumes.map((v) => v.Name)];
}

/** A job's container, as the launch plan makes it, running `script` to its end. */
async function runJob(runner: string, p: ReturnType<typeof profile>, script: string) {
  const id = identity(runner);
  const base = containerSpec(id, p, '');
  const plan = sidecarPlan(id, p);
  const spec = plan ? withJobDocker(base, plan) : base;
  return engine.runToExit(
    { ...spec, name: `${runner}-job`, Cmd: ['sh', '-c', script], Labels: { [LABEL.instance]: instance } },
    120_000,
  );
}

// A Postgres stand-in: a scratch image with busybox answering on 5432, built by the job through its own engine.
const SERVICE_JOB = [
  'set -e',
  'echo "DOCKER_HOST=$DOCKER_HOST"',
  'cd "$(mktemp -d)" && cp /usr/local/bin/busybox .',
  `printf 'FROM scratch\\nCOPY busybox /bin/busybox\\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\\n' > Dockerfile`,
  'docker build -q -t pg-standin . >/dev/null && echo built',
  'docker info --format "security={{.SecurityOptions}}"',
  `docker run -d --name postgres -p 5432:5432 pg-standin sh -c 'while :; do echo PG-STANDIN ready | nc -l -p 5432; done' >/dev/null`,
  'for i in $(seq 1 50); do a=$(nc 127.0.0.1 5432 </dev/null 2>/dev/null || true); [ -n "$a" ] && break; sleep 0.1; done',
  'echo "service said: $a"',
  // A hostile job binds /: it gets the sidecar's filesystem, not the host's.
  `docker run --rm -v /:/host pg-standin sh -c 'ls /host/var/run/docker.sock /host/var/lib/docker 2>&1; cat /host/etc/hostname' | sed 's/^/bind: /'`,
  // Nor any file there that changes uid or gid on exec.
  `docker run --rm -v /:/host pg-standin sh -c 'find /host -xdev -type f -perm /6000; echo done' | sed 's/^/setid: /'`,
].join('\n');

describe("a job's own Docker engine", () => {
  it('serves the job alone: docker build works, a published service answers on its localhost and on no other container, a bind of / shows the sidecar, not the host', async () => {
    const runner = newRunner();
    const p = profile();
    await sidecars.start(sidecarPlan(identity(runner), p)!);

    const job = await runJob(runner, p, SERVICE_JOB);
    expect(job.output).toContain('DOCKER_HOST=unix:///run/factory-docker/docker.sock');
    expect(job.output).toContain('built');
    expect(job.output).toMatch(/security=\[.*name=rootless/);
    expect(job.output).toContain('service said: PG-STANDIN ready');
    expect(job.output).toContain('bind: ls: /host/var/run/docker.sock: No such file or directory');
    expect(job.output).toContain('bind: ls: /host/var/lib/docker: No such file or directory');
    const sidecarHost = (await docker.getContainer(`${runner}-docker`).inspect()).Config.Hostname;
    expect(job.output).toContain(`bind: ${sidecarHost}`);
    expect(job.output.split('\n').filter((l) => l.startsWith('setid: '))).toEqual(['setid: done']);
    // The sidecar's own processes are bounded by SETUID and SETGID (bits 6 and 7), all a job could reach through it.
    const bounds = await docker.getContainer(`${runner}-docker`).exec({
      Cmd: ['grep', '^CapBnd:', '/proc/1/status'],
      AttachStdout: true,
    });
    const stream = await bounds.start({});
    let text = '';
    stream.on('data', (c: Buffer) => (text += c.toString()));
    await new Promise((resolve) => stream.on('end', resolve));
    expect(text).toContain('CapBnd:\t00000000000000c0');
    expect(job.exitCode).toBe(0);

    // Another container on the same network: the service still runs in the sidecar, on its loopback only, and
    // no daemon port is open on the sidecar's address.
    const sidecar = await docker.getContainer(`${runner}-docker`).inspect();
    const address = sidecar.NetworkSettings.Networks[network]!.IPAddress;
    const other = await engine.runToExit(
      {
        Image: 'factory-test/busybox:1',
        Cmd: [
          '/bin/busybox',
          'sh',
          '-c',
          `for port in 5432 2375 2376; do /bin/busybox nc -w 2 ${address} $port </dev/null && echo "open $port" || echo "closed $port"; done; ls /run/factory-docker 2>&1`,
        ],
        Labels: { [LABEL.instance]: instance },
        HostConfig: { NetworkMode: network },
      },
      30_000,
    );
    expect(other.output).toMatch(/closed 5432[\s\S]*closed 2375[\s\S]*closed 2376/);
    expect(other.output).not.toContain('open ');
    expect(other.output).toMatch(/No such file or directory/);

    await sidecars.remove(runner);
    expect(await leftovers(runner)).toEqual([]);
  }, 180_000);

  it('a job on a profile without it has no DOCKER_HOST and no socket: its docker call fails with the message the docs explain', async () => {
    const p = profile({ docker: undefined });
    const job = await runJob(newRunner(), p, 'echo "DOCKER_HOST=${DOCKER_HOST:-unset}"; docker info 2>&1; echo rc=$?');
    expect(job.output).toContain('DOCKER_HOST=unset');
    expect(job.output).toContain(
      'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?',
    );
    expect(job.output).toContain('rc=1');
  }, 60_000);

  it("holds the job's images and containers to its storage size: writing past it fails, nothing else fills", async () => {
    const runner = newRunner();
    const p = profile({ docker: { sidecar: true, storage: '256m', memory: '256m' } });
    await sidecars.start(sidecarPlan(identity(runner), p)!);

    const job = await runJob(
      runner,
      p,
      [
        'cd "$(mktemp -d)" && cp /usr/local/bin/busybox .',
        `printf 'FROM scratch\\nCOPY busybox /bin/busybox\\n' > Dockerfile && docker build -q -t fill . >/dev/null`,
        'docker run --rm fill /bin/busybox dd if=/dev/zero of=/big bs=1M count=300 2>&1',
      ].join('\n'),
    );
    expect(job.output).toContain('No space left on device');
    expect(job.output).not.toContain('300+0 records out');
    const used = await docker.getContainer(`${runner}-docker`).inspect();
    expect(used.HostConfig.Tmpfs).toEqual({
      '/var/lib/factory-docker': `size=${256 * 1024 ** 2},uid=1000,gid=1000,mode=0700`,
    });

    await sidecars.remove(runner);
    expect(await leftovers(runner)).toEqual([]);
  }, 120_000);

  it('the sweep removes the engines of runners that are gone and keeps the others', async () => {
    const [kept, gone] = [newRunner(), newRunner()];
    const p = profile();
    await Promise.all([kept, gone].map((r) => sidecars.start(sidecarPlan(identity(r), p)!)));

    const removed = await sidecars.sweep((r) => r === kept);

    expect(removed).toEqual([gone]);
    expect(await leftovers(gone)).toEqual([]);
    expect(await leftovers(kept)).toHaveLength(2);
    await sidecars.remove(kept);
    expect(await leftovers(kept)).toEqual([]);
  }, 120_000);

  it('a sidecar that cannot start leaves nothing and says why; a missing image is named', async () => {
    const runner = newRunner();
    // An image without the start script: the engine refuses to create a container with no command.
    const plan = { ...sidecarPlan(identity(runner), profile())!, image: 'factory-test/busybox:1' };
    await expect(sidecars.start(plan)).rejects.toThrow(`docker sidecar ${runner}-docker did not start`);
    expect(await leftovers(runner)).toEqual([]);

    const missing = { ...plan, image: `factory-test/no-such-image:${randomBytes(3).toString('hex')}` };
    await expect(sidecars.start(missing)).rejects.toThrow(/is not on this engine \(profile docker\): build it with/);
    expect(await leftovers(runner)).toEqual([]);
  }, 60_000);
});
