// Disk use of the places the factory fills: Docker's data root and the controller's stateDir.
import { statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import type Docker from 'dockerode';

export interface DiskUse {
  path: string;
  usedRatio: number;
  freeBytes: number;
  totalBytes: number;
}

/** The nearest existing folder: a stateDir not made yet, or Docker's root seen from inside a container. */
export async function existingAncestor(path: string): Promise<string> {
  for (let p = path; ; p = dirname(p))
    if (
      (await statfs(p).then(
        () => true,
        () => false,
      )) ||
      p === '/'
    )
      return p;
}

/** Docker's data root as the engine reports it; the default root when the engine does not answer. */
export async function dockerRootDir(docker: Docker): Promise<string> {
  return docker.info().then(
    (i: { DockerRootDir?: string }) => i.DockerRootDir ?? '/var/lib/docker',
    () => '/var/lib/docker',
  );
}

export async function diskUse(paths: readonly string[]): Promise<DiskUse[]> {
  const measured = [...new Set(await Promise.all(paths.map(existingAncestor)))];
  return Promise.all(
    measured.map(async (path) => {
      const s = await statfs(path);
      return {
        path,
        usedRatio: s.blocks === 0 ? 0 : 1 - s.bavail / s.blocks,
        freeBytes: s.bavail * s.bsize,
        totalBytes: s.blocks * s.bsize,
      };
    }),
  );
}
