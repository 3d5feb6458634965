// The data stores' part of the release. Each data mount's gate (config/data-gate.ts) is a folder of the job folder,
// bound read-only over its target's parent: it is made mode 000 before the container starts and opened at the
// release. The controller changes the mode on its side of the bind, so the container sees it at once; the data binds
// themselves are Docker's read-only binds, and they leave with the container.
import { chmod, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { dataGates } from '../config/data-gate.js';
import type { Config, Profile } from '../config/config.js';
import { dataGateDir, jobDir } from './lane-layout.js';

/** A gate with its data's mount points inside, shut. 000, not 0700: a job may switch to the gate owner's uid. */
export async function closeDataGates(config: Config, profile: Profile, runnerName: string): Promise<void> {
  for (const [k, gate] of dataGates(profile).entries()) {
    const dir = dataGateDir(config, runnerName, k);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
    // Made here, so Docker never writes into the read-only gate to create them.
    for (const m of gate.mounts) await mkdir(join(dir, m.name), { recursive: true, mode: 0o755 });
    await chmod(dir, 0o000);
  }
}

/** Opens the gates for the job the release verified: each data store, read-only, at its target. */
export async function openDataGates(config: Config, profile: Profile, runnerName: string): Promise<void> {
  for (const k of dataGates(profile).keys()) await chmod(dataGateDir(config, runnerName, k), 0o755);
}

/** Makes the gates removable by their owner without any capability (a mode-000 folder cannot be listed). */
export async function prepareDataGatesForRemoval(config: Config, runnerName: string): Promise<void> {
  const dir = join(jobDir(config, runnerName), 'data');
  const names = await readdir(dir).catch(() => []);
  for (const name of names) await chmod(join(dir, name), 0o700).catch(() => undefined);
}
