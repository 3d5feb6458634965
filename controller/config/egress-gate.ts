// What a profile's `egress` may not combine with: anything that gives the job a way out beside the gateway.
import type { Profile } from './config-schema.js';
import type { Refuse } from './trust-gate.js';

export function refuseLeakyEgress(backend: string, name: string, p: Profile, refuse: Refuse): void {
  if (p.egress === undefined) return;
  const network = p.network.trim().toLowerCase();
  if (network === 'host' || network === 'none' || network.startsWith('container:'))
    refuse(
      ['network'],
      `profile "${name}": with egress the job sits on a network of its own and the gateway goes out through "network", which must be bridge or a Docker network of your own, not "${p.network}"; host services go in egress.loopback`,
    );
  if (backend === 'swarm')
    refuse(
      ['egress'],
      `profile "${name}": a job's egress gateway runs beside the job on one engine; backend swarm cannot place the two together`,
    );
  if (p.allowDockerSocket)
    refuse(
      ['allowDockerSocket'],
      `profile "${name}": the host's Docker socket starts containers on any network, around the egress gateway; use docker: { sidecar: true } for a job's own engine behind it`,
    );
  if (p.docker !== undefined)
    refuse(
      ['docker'],
      `profile "${name}": a job's own Docker engine behind an egress gateway is not supported yet; remove docker or egress`,
    );
  const netCaps = p.capAdd.filter((c) => /^(CAP_)?NET_(ADMIN|RAW)$/.test(c));
  if (netCaps.length > 0)
    refuse(
      ['capAdd'],
      `profile "${name}": ${netCaps.join(', ')} lets the job forge packets and rewrite its routes and neighbours on its egress network; drop it`,
    );
}
