// Disk use of the places the factory fills: Docker's data root and the controller's stateDir.
import { statfs } from 'node:fs/promises';
import { dirname } from 'node:path';

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
