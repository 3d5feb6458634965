// What a profile's own-Docker opt-in may not combine with. A privileged sidecar is root on the host for whoever
// drives its daemon, which is the job: like the Docker socket it needs a stated reason.
import type { Profile } from './config-schema.js';
import type { Refuse } from './trust-gate.js';

export function refuseUnsafeJobDocker(backend: string, name: string, p: Profile, refuse: Refuse): void {
  if (p.docker === undefined) return;
  if (backend === 'swarm')
    refuse(
      ['docker'],
      `profile "${name}": a job's own Docker engine runs beside the job on one engine; backend swarm cannot place the two together`,
    );
  if (p.network.trim().toLowerCase().startsWith('container:'))
    refuse(
      ['network'],
      `profile "${name}": a job with its own Docker engine shares the sidecar's network namespace, which network "${p.network}" would put in another container's; use bridge, none or a network of your own`,
    );
  if (p.docker.mode === 'privileged' && p.docker.reason === undefined)
    refuse(
      ['docker', 'reason'],
      `profile "${name}": a privileged Docker sidecar gives the job root on the host (docs/job-docker.md); give a docker.reason, or use mode: rootless`,
    );
}
