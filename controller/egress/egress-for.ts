// The controller's egress gateways for its config: the one place the service learns whether it has any.
import { join } from 'node:path';
import Docker from 'dockerode';
import type { Config } from '../config/config.js';
import { toHostPath } from '../config/host-path-map.js';
import { egressGateways, type EgressGateways } from './egress-gateway.js';
import { spareGateways } from './spare-gateways.js';

/**
 * Jobs' egress gateways run beside the job on the local engine, like its sidecar (swarm is refused by validation),
 * with one spare kept serving per profile so a job does not wait for its gateway to start.
 */
export function egressFor(config: Config, upstreamDns?: string[]): EgressGateways | undefined {
  if (config.backend !== 'docker') return undefined;
  return spareGateways(
    egressGateways(new Docker({ socketPath: config.docker.socketPath }), {
      instance: config.instance,
      dir: join(config.stateDir, 'egress'),
      hostPath: (path) => toHostPath(path, config.hostPathMap),
      ...(upstreamDns ? { upstreamDns } : {}),
    }),
  );
}
