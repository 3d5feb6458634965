// Carries out a housekeeping plan on the Docker engine: reads the facts, plans, removes in order (containers first,
// so their images and volumes are free), and tolerates what vanished or got used in between.
import Docker from 'dockerode';
import {
  planHousekeeping,
  type HousekeepingFacts,
  type HousekeepingPlan,
  type HousekeepingPolicy,
} from './housekeeping-plan.js';

export interface HousekeepingReport extends HousekeepingPlan {
  dryRun: boolean;
  bytes: number;
  skipped: string[];
}

export async function readFacts(docker: Docker, now = Date.now()): Promise<HousekeepingFacts> {
  const [containers, images, volumes] = await Promise.all([
    docker.listContainers({ all: true }),
    docker.listImages({ all: true, filters: JSON.stringify({ dangling: ['true'] }) }),
    docker.listVolumes(),
  ]);
  return {
    now,
    containers: containers.map((c) => ({
      id: c.Id,
      state: c.State,
      labels: c.Labels ?? {},
      createdMs: c.Created * 1000,
      imageId: c.ImageID,
      volumes: (c.Mounts ?? []).flatMap((m) => (m.Type === 'volume' && m.Name ? [m.Name] : [])),
    })),
    images: images.map((i) => ({
      id: i.Id,
      createdMs: i.Created * 1000,
      labels: i.Labels ?? {},
      dangling: (i.RepoTags ?? []).every((t) => t === '<none>:<none>'),
      size: i.Size,
    })),
    volumes: (volumes.Volumes ?? []).map((v) => {
      const created = Date.parse((v as { CreatedAt?: string }).CreatedAt ?? '');
      return { name: v.Name, ...(Number.isFinite(created) ? { createdMs: created } : {}) };
    }),
  };
}

const tolerated = (err: { statusCode?: number }) => err.statusCode === 404 || err.statusCode === 409;

export async function housekeep(
  docker: Docker,
  policy: HousekeepingPolicy,
  dryRun = false,
  now = Date.now(),
): Promise<HousekeepingReport> {
  const plan = planHousekeeping(await readFacts(docker, now), policy);
  const report: HousekeepingReport = {
    ...plan,
    dryRun,
    bytes: plan.images.reduce((n, i) => n + i.size, 0),
    skipped: [],
  };
  if (dryRun) return report;
  const attempt = async (what: string, remove: () => Promise<unknown>) => {
    try {
      await remove();
      return true;
    } catch (err) {
      // Gone already, or taken into use since the facts were read (409): skipped, never forced.
      if (!tolerated(err as { statusCode?: number })) throw err;
      report.skipped.push(what);
      return false;
    }
  };
  for (const id of plan.containers)
    await attempt(`container ${id}`, () => docker.getContainer(id).remove({ v: false }));
  for (const { id } of plan.images) await attempt(`image ${id}`, () => docker.getImage(id).remove({ noprune: false }));
  for (const name of plan.volumes) await attempt(`volume ${name}`, () => docker.getVolume(name).remove());
  const skipped = new Set(report.skipped);
  report.containers = report.containers.filter((id) => !skipped.has(`container ${id}`));
  report.images = report.images.filter((i) => !skipped.has(`image ${i.id}`));
  report.volumes = report.volumes.filter((v) => !skipped.has(`volume ${v}`));
  report.bytes = report.images.reduce((n, i) => n + i.size, 0);
  return report;
}
