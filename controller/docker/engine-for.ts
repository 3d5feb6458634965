// The backend a config asks for: the local engine (one host) or Swarm (the same profiles across the nodes of a swarm).
import type { Config } from '../config/config.js';
import { dockerEngine, type Engine } from './docker-engine.js';
import { swarmEngine } from './swarm-engine.js';
import { join } from 'node:path';
import Docker from 'dockerode';
import { dockerSidecarBuild } from '../images/docker-sidecar-image.js';
import { packageRoot } from '../util/package-root.js';
import { jobDocker, type JobDocker } from './job-docker.js';

/** `current` gives the live config, so an edited profile's placement applies to the next job without a restart. */
export function engineFor(config: Config, current: () => Config = () => config): Engine {
  if (config.backend === 'swarm') {
    return swarmEngine(config.docker.socketPath, {
      instance: config.instance,
      placement: (profile) => current().profiles[profile]?.placement ?? [],
    });
  }
  return dockerEngine(config.docker.socketPath, config.instance);
}

/**
 * Jobs' own Docker engines run beside the job on the local engine; swarm has none (config validation refuses the
 * combination). The default sidecar image's tag is its inputs hash, worked out once, on the first job that needs it.
 */
export function jobDockerFor(config: Config): JobDocker | undefined {
  if (config.backend !== 'docker') return undefined;
  let image: Promise<string> | undefined;
  return jobDocker(new Docker({ socketPath: config.docker.socketPath }), {
    instance: config.instance,
    defaultImage: () =>
      (image ??= dockerSidecarBuild(join(packageRoot(), 'images')).then(
        (b) => b.tag,
        (err: unknown) => {
          image = undefined;
          throw err;
        },
      )),
  });
}
