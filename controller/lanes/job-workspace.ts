// The folders a job writes its work into: its own workspace (a fresh folder per job, removed with the job folder)
// and any opt-in caches. Both are owned by the container user, since a fresh root-owned folder leaves the runner
// (uid 1000) with `Permission denied`, and both live under stateDir, which no untrusted profile may bind.
import { chmod, chown, mkdir } from 'node:fs/promises';
import type { Config, Profile } from '../config/config.js';
import { containerOwner } from './job-folder.js';
import { cacheDir, jobDir, workspaceDir } from './lane-layout.js';

/** Creates the job's workspace and the profile's cache folders, owned by the container user; idempotent. */
export async function prepareWorkspaces(
  config: Config,
  profile: Profile,
  /** Whose caches (lane-layout.ts cacheScope). */
  scope: string,
  profileName: string,
  runnerName: string,
): Promise<void> {
  const owner = containerOwner(profile);
  const folders: string[] = [];
  for (const m of profile.mounts) {
    if (m.kind === 'workspace') folders.push(workspaceDir(config, runnerName));
    if (m.kind === 'cache') folders.push(cacheDir(config, scope, profileName, m.name));
  }
  if (folders.length === 0) return;
  // The job folder stays private to the controller; Docker binds the workspace inside it without traversing it.
  await mkdir(jobDir(config, runnerName), { recursive: true, mode: 0o700 });
  for (const folder of folders) {
    await mkdir(folder, { recursive: true, mode: 0o700 });
    await chmod(folder, 0o700);
    await chown(folder, owner.uid, owner.gid).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EPERM' && process.getuid?.() === owner.uid) return;
      throw new Error(
        `cannot give ${folder} to uid ${owner.uid} (${err.code}): run the controller as root or as that uid`,
      );
    });
  }
}
