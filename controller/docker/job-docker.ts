// A job's own Docker engine carried out on the host's engine: started before the job's container (which joins its
// network namespace), removed with it, and swept when its runner is gone (a launch cut short, a controller that died
// mid-cleanup). Everything it makes carries the runner's name in one label, so nothing is left without an owner.
import type Docker from 'dockerode';
import { LABEL } from '../model/runner.js';
import {
  JOB_DOCKER_LABEL,
  sidecarContainerSpec,
  sidecarName,
  socketVolumeSpec,
  type SidecarPlan,
} from './job-docker-plan.js';
import { demux, isDockerDown } from './docker-engine.js';
import { errorMessage } from '../util/error-message.js';

export interface JobDocker {
  /** Starts the sidecar and resolves once its daemon answers; on any failure nothing of it is left. */
  start(plan: SidecarPlan): Promise<void>;
  /** Removes the runner's sidecar and socket volume; what is already gone counts as removed. */
  remove(runnerName: string): Promise<void>;
  /** Removes every sidecar and volume of this instance whose runner `keep` does not know; returns their runners. */
  sweep(keep: (runnerName: string) => boolean): Promise<string[]>;
}

export interface JobDockerOptions {
  instance: string;
  /** The sidecar image when the profile names none (the locally built factory-local/docker-sidecar:<inputs>). */
  defaultImage: () => Promise<string>;
  /** How long the daemon may take to answer; it takes seconds (docs/job-docker.md). */
  readyTimeoutMs?: number;
}

const READY_LINE = 'factory-docker: ready';
const statusOf = (err: unknown) => (err as { statusCode?: number })?.statusCode;
const gone = (err: unknown) => statusOf(err) === 404 || statusOf(err) === 409;

export function jobDocker(docker: Docker, opts: JobDockerOptions): JobDocker {
  const ours = (extra: string[] = []) => JSON.stringify({ label: [`${LABEL.instance}=${opts.instance}`, ...extra] });

  async function remove(runnerName: string): Promise<void> {
    const name = sidecarName(runnerName);
    const containers = await docker.listContainers({
      all: true,
      filters: ours([`${JOB_DOCKER_LABEL}=${runnerName}`]),
    });
    for (const c of containers)
      await docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch((err) => (gone(err) ? undefined : Promise.reject(err)));
    // A volume is removed only once no container holds it; the job's container is removed before this runs.
    await docker
      .getVolume(name)
      .inspect()
      .then(
        (v: { Labels?: Record<string, string> }) =>
          v.Labels?.[JOB_DOCKER_LABEL] === runnerName && v.Labels?.[LABEL.instance] === opts.instance
            ? // 409: a container still holds it (a removal racing this one); the reconciler's sweep takes it later.
              docker
                .getVolume(name)
                .remove()
                .catch((err) => (gone(err) ? undefined : Promise.reject(err)))
            : undefined,
        (err) => (statusOf(err) === 404 ? undefined : Promise.reject(err)),
      );
  }

  async function start(plan: SidecarPlan): Promise<void> {
    const image = plan.image ?? (await opts.defaultImage());
    const present = await docker
      .getImage(image)
      .inspect()
      .then(
        () => true,
        (err) => (statusOf(err) === 404 ? false : Promise.reject(err)),
      );
    if (!present)
      throw new Error(
        `docker sidecar image ${image} is not on this engine (profile ${plan.profileName}): build it with factory images build --docker-sidecar`,
      );
    try {
      await docker.createVolume(socketVolumeSpec(plan));
      const container = await docker.createContainer(sidecarContainerSpec(plan, image));
      await container.start();
      await untilReady(container, opts.readyTimeoutMs ?? 60_000);
    } catch (err) {
      if (isDockerDown(err)) throw err; // the reconciler's sweep removes what was made once Docker answers
      await remove(plan.runnerName).catch(() => {});
      throw new Error(`docker sidecar ${plan.name} did not start: ${errorMessage(err)}`);
    }
  }

  async function sweep(keep: (runnerName: string) => boolean): Promise<string[]> {
    const [containers, volumes] = await Promise.all([
      docker.listContainers({ all: true, filters: ours([JOB_DOCKER_LABEL]) }),
      docker.listVolumes({ filters: ours([JOB_DOCKER_LABEL]) }),
    ]);
    const runners = new Set([
      ...containers.map((c) => c.Labels[JOB_DOCKER_LABEL]!),
      ...(volumes.Volumes ?? []).map((v) => (v.Labels as Record<string, string> | null)?.[JOB_DOCKER_LABEL] ?? ''),
    ]);
    const orphans = [...runners].filter((r) => r !== '' && !keep(r));
    for (const runner of orphans) await remove(runner);
    return orphans;
  }

  return { start, remove, sweep };
}

/** Follows the sidecar's output until its start script prints the ready line; its exit or the timeout is an error. */
async function untilReady(container: Docker.Container, timeoutMs: number): Promise<void> {
  const stream = (await container.logs({ follow: true, stdout: true, stderr: true })) as NodeJS.ReadableStream & {
    destroy(): void;
  };
  let raw = Buffer.alloc(0);
  let seen = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      const done = (err?: Error) => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      };
      stream.on('data', (chunk: Buffer) => {
        // A frame may be split across chunks: demultiplex everything received so far.
        raw = Buffer.concat([raw, chunk]);
        seen = demux(raw);
        if (seen.includes(READY_LINE)) done();
      });
      stream.on('error', done);
      stream.on('end', () => done(new Error(`it exited: ${lastLines(seen)}`)));
    });
  } finally {
    stream.destroy();
  }
}

const lastLines = (text: string) =>
  text
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('+'))
    .slice(-5)
    .join(' | ') || 'no output';
