// 6. A job's own Docker engine (docs/job-docker.md): from the launch to `docker info` answering inside the job's
//    container, rootless and privileged, against a plain job's container answering a command, in the same run; and
//    what it costs on disk: the sidecar image (once per host), each sidecar's writable layer, and its storage (a
//    tmpfs, so memory rather than disk) when it starts and after a small `docker build`.
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import { profileSchema } from '../controller/config/config.js';
import { containerSpec } from '../controller/daemon/runner-spec.js';
import { jobDocker } from '../controller/docker/job-docker.js';
import { sidecarName, sidecarPlan, withJobDocker } from '../controller/docker/job-docker-plan.js';
import { demux } from '../controller/docker/docker-engine.js';
import { LABEL } from '../controller/model/runner.js';
import { ensureDockerRunnerImage, ensureSidecarImage } from '../test/support/docker-sidecar.js';
import { median } from './stats.js';

const RUNS = 7;
type Mode = 'plain' | 'rootless' | 'privileged';

export interface JobDockerResult {
  runs: Record<Mode, number[]>;
  medianMs: Record<Mode, number>;
  sidecarImageBytes: number;
  /** Per job, medians: the sidecar's writable layer, its storage in use at start and after a small build. */
  sidecarLayerBytes: number;
  storageAtStartBytes: number;
  storageAfterBuildBytes: number;
  failures: string[];
}

async function exec(container: Docker.Container, cmd: string[]): Promise<{ code: number; output: string }> {
  const e = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await e.start({});
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve());
    stream.on('error', reject);
  });
  return { code: (await e.inspect()).ExitCode ?? -1, output: demux(Buffer.concat(chunks)) };
}

const usedBytes = async (sidecar: Docker.Container) => {
  const { output } = await exec(sidecar, ['df', '-B1', '--output=used', '/var/lib/factory-docker']);
  return Number(output.trim().split('\n').at(-1));
};

export async function benchJobDocker(docker: Docker): Promise<JobDockerResult> {
  const runnerImage = await ensureDockerRunnerImage(docker);
  const sidecarImage = await ensureSidecarImage(docker);
  const instance = `bench-${randomBytes(4).toString('hex')}`;
  const network = `factory-bench-${randomBytes(3).toString('hex')}`;
  await docker.createNetwork({ Name: network, Labels: { [LABEL.instance]: instance } });
  const sidecars = jobDocker(docker, { instance, defaultImage: async () => sidecarImage });
  const runs: Record<Mode, number[]> = { plain: [], rootless: [], privileged: [] };
  const layer: number[] = [];
  const atStart: number[] = [];
  const afterBuild: number[] = [];
  const failures: string[] = [];

  const once = async (mode: Mode, i: number) => {
    const runnerName = `factory-bench-${i}-${randomBytes(3).toString('hex')}`;
    const identity = { instance, repo: 'bench/job-docker', profileName: mode, jobId: i, runnerId: 0, runnerName };
    const profile = profileSchema.parse({
      labels: ['self-hosted', mode],
      image: runnerImage,
      network,
      memory: '512m',
      pids: 1024,
      ...(mode === 'plain' ? {} : { docker: { sidecar: true, mode, reason: 'bench', storage: '2g', memory: '512m' } }),
    });
    const plan = sidecarPlan(identity, profile);
    const base = containerSpec(identity, profile, '');
    const spec = { ...(plan ? withJobDocker(base, plan) : base), Cmd: ['sleep', '300'] };
    const t0 = performance.now();
    let job: Docker.Container | undefined;
    try {
      if (plan) await sidecars.start(plan);
      job = await docker.createContainer(spec);
      await job.start();
      const probe = plan ? ['docker', 'info', '--format', '{{.ServerVersion}}'] : ['true'];
      const answer = await exec(job, probe);
      if (answer.code !== 0) throw new Error(`${probe.join(' ')}: ${answer.output.trim()}`);
      runs[mode].push(performance.now() - t0);
      if (plan && mode === 'rootless') {
        const sidecar = docker.getContainer(sidecarName(runnerName));
        const [listed] = await docker.listContainers({
          all: true,
          size: true,
          filters: JSON.stringify({ name: [sidecarName(runnerName)] }),
        });
        layer.push((listed as { SizeRw?: number } | undefined)?.SizeRw ?? 0);
        atStart.push(await usedBytes(sidecar));
        const build = await exec(job, [
          'sh',
          '-c',
          `d=$(mktemp -d) && cp /usr/local/bin/busybox $d/ && printf 'FROM scratch\\nCOPY busybox /bin/busybox\\n' > $d/Dockerfile && docker build -q $d`,
        ]);
        if (build.code !== 0) throw new Error(`docker build: ${build.output.trim()}`);
        afterBuild.push(await usedBytes(sidecar));
      }
    } catch (err) {
      // One line per distinct cause: the same refusal seven times says no more than once.
      const cause = `${mode}: ${(err as Error).message.replaceAll(runnerName, '<runner>')}`;
      if (!failures.includes(cause)) failures.push(cause);
    } finally {
      await job?.remove({ force: true }).catch(() => {});
      await sidecars.remove(runnerName).catch(() => {});
    }
  };

  try {
    // Interleaved, so a slow moment of the shared machine falls on every mode alike.
    for (let i = 0; i < RUNS; i++) for (const mode of ['plain', 'rootless', 'privileged'] as const) await once(mode, i);
  } finally {
    await sidecars.sweep(() => false).catch(() => {});
    await docker
      .getNetwork(network)
      .remove()
      .catch(() => {});
  }
  const image = await docker.getImage(sidecarImage).inspect();
  return {
    runs,
    medianMs: { plain: median(runs.plain), rootless: median(runs.rootless), privileged: median(runs.privileged) },
    sidecarImageBytes: image.Size,
    sidecarLayerBytes: median(layer),
    storageAtStartBytes: median(atStart),
    storageAfterBuildBytes: median(afterBuild),
    failures,
  };
}
