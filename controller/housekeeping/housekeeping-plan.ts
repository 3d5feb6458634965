// What housekeeping may remove: only what the factory made (its labels, its volume names), never what a running job
// or build uses, and only when older than the policy's age. Pure: the facts come in, the plan goes out.
import { LABEL } from '../model/runner.js';

export const WORKSPACE_PREFIX = 'factory-ws-';
/** Images our Dockerfiles label; the host's other images are not ours to remove. */
export const IMAGE_LABEL = 'factory.image';

export interface ContainerFact {
  id: string;
  state: string;
  labels: Record<string, string>;
  createdMs: number;
  imageId: string;
  volumes: string[];
}
export interface ImageFact {
  id: string;
  createdMs: number;
  labels: Record<string, string>;
  dangling: boolean;
  size: number;
}
export interface VolumeFact {
  name: string;
  createdMs?: number;
}
export interface HousekeepingFacts {
  now: number;
  containers: ContainerFact[];
  images: ImageFact[];
  volumes: VolumeFact[];
}

export interface HousekeepingPolicy {
  olderThanMs: number;
  /** Only this controller instance's containers; every instance's when unset (the `factory prune` default). */
  instance?: string;
  /** Workspace volumes are caches a later job reuses: removed only when asked. */
  workspaces: boolean;
}

export interface HousekeepingPlan {
  containers: string[];
  images: Array<{ id: string; size: number }>;
  volumes: string[];
}

export function planHousekeeping(f: HousekeepingFacts, p: HousekeepingPolicy): HousekeepingPlan {
  const cutoff = f.now - p.olderThanMs;
  const old = (createdMs: number | undefined) => createdMs !== undefined && createdMs <= cutoff;
  const containers = f.containers
    .filter(
      (c) =>
        c.labels[LABEL.managed] === 'true' && (p.instance === undefined || c.labels[LABEL.instance] === p.instance),
    )
    // Exited or dead only: `created` is a launch in progress, `running`/`paused`/`restarting` a job.
    .filter((c) => (c.state === 'exited' || c.state === 'dead') && old(c.createdMs))
    .map((c) => c.id);
  // Any container that stays, running or stopped, ours or not, pins its image and its volumes.
  const removed = new Set(containers);
  const staying = f.containers.filter((c) => !removed.has(c.id));
  const pinnedImages = new Set(staying.map((c) => c.imageId));
  const pinnedVolumes = new Set(staying.flatMap((c) => c.volumes));
  const images = f.images
    // A build in progress makes fresh untagged step images: the age keeps them.
    .filter((i) => i.dangling && IMAGE_LABEL in i.labels && old(i.createdMs) && !pinnedImages.has(i.id))
    .map((i) => ({ id: i.id, size: i.size }));
  const volumes = p.workspaces
    ? f.volumes
        .filter((v) => v.name.startsWith(WORKSPACE_PREFIX) && old(v.createdMs) && !pinnedVolumes.has(v.name))
        .map((v) => v.name)
    : [];
  return { containers, images, volumes };
}
