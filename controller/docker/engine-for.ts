// The backend a config asks for: the local engine (one host) or Swarm (the same profiles across the nodes of a swarm).
import type { Config } from '../config/config.js';
import { dockerEngine, type Engine } from './docker-engine.js';
import { swarmEngine } from './swarm-engine.js';

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
