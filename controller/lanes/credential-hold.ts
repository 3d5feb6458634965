// A lane job's hold on its credential: the one-job-per-credential lock taken, then its job folder made (job-folder.ts),
// before anything is released into it (release.ts: on a verified assignment for a workflow job, at start for
// `factory lane run`). Both go through here, so the rule is one rule; finishJobFolder writes refreshed tokens back
// and lets go of the lock.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config, Profile } from '../config/config.js';
import {
  credentialHolders,
  describeHolders,
  isDeadLaneRun,
  lockCredential,
  unlockCredential,
  type CredentialHolder,
} from './credential-lock.js';
import { CREDENTIAL_LOCK_FILE, finishJobFolder, prepareJobFolder, removeJobFolder } from './job-folder.js';
import { jobDir } from './lane-layout.js';

export interface LaneJob {
  profileName: string;
  profile: Profile;
  /** The runner's or the lane run's container name: its job folder's name too. */
  name: string;
  kind: CredentialHolder['kind'];
}

export type Hold = { held: true } | { held: false; heldBy: string };

/**
 * Takes the credential (or says who holds it) and makes the job's folder, its MCP files rendered. Throws, naming the
 * missing file, when a credential is not there to copy later; nothing is left held then. `removeContainer` removes the
 * container of a lane run that died holding a credential, by name.
 */
export async function holdCredential(
  config: Config,
  job: LaneJob,
  removeContainer?: (name: string) => Promise<void>,
): Promise<Hold> {
  // A lane run that died holding this credential must not keep it: freed first, its tokens written back.
  await sweepDeadLaneRuns(config, removeContainer);
  const lock = await lockCredential(config, job.profile, { kind: job.kind, name: job.name });
  if (lock && !lock.held) return { held: false, heldBy: describeHolders(lock.key, lock.holders) };
  try {
    await prepareJobFolder(config, job.profileName, job.profile, job.name);
    if (lock) await writeFile(join(jobDir(config, job.name), CREDENTIAL_LOCK_FILE), lock.file, { mode: 0o600 });
  } catch (err) {
    if (lock) await unlockCredential(config, lock.file);
    await removeJobFolder(config, job.name);
    throw err;
  }
  return { held: true };
}

/**
 * Lane runs that died holding a credential (SIGKILL, a lost terminal): their refreshed tokens are written back, their
 * container removed when the caller can, and their place freed. Only a process that sees their pids can tell.
 */
export async function sweepDeadLaneRuns(
  config: Config,
  removeContainer: (name: string) => Promise<void> = async () => {},
): Promise<string[]> {
  const dead = (await credentialHolders(config)).filter((h) => isDeadLaneRun(h.holder));
  for (const { holder, file } of dead) {
    await removeContainer(holder.name).catch(() => {});
    await finishJobFolder(config, holder.name).catch(() => []);
    await unlockCredential(config, file);
  }
  return dead.map((d) => d.holder.name);
}
