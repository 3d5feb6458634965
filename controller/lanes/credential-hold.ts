// A lane job's hold on its credential: the one-job-per-credential lock, taken just before anything is released into
// the job's folder (release.ts): for a workflow job on its verified assignment (takeCredential, into the folder its
// launch made with nothing secret in it), for `factory lane run` at its start (holdCredential, which makes the folder
// too). A runner that idles, warm or still waiting for its job, holds nothing of its login. Both go through here, so
// the rule is one rule; finishJobFolder writes refreshed tokens back and lets go of the lock.
import { rm, writeFile } from 'node:fs/promises';
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
  /** A brokered run: its MCP token servers are rendered at its broker (prepareJobFolder's `brokered`). */
  brokered?: boolean;
}

export type Hold = { held: true } | { held: false; heldBy: string };

/**
 * Takes the credential (or says who holds it) and makes the job's folder, its MCP files rendered: `factory lane run`
 * and the doctor's agent turn, which release at once. Throws, naming the missing file, when a credential is not there
 * to copy later; nothing is left held then. `removeContainer` removes the container of a lane run that died holding a
 * credential, by name.
 */
export async function holdCredential(
  config: Config,
  job: LaneJob,
  removeContainer?: (name: string) => Promise<void>,
): Promise<Hold> {
  const lock = await lockFor(config, job, removeContainer);
  if (lock && !lock.held) return { held: false, heldBy: describeHolders(lock.key, lock.holders) };
  try {
    await prepareJobFolder(config, job.profileName, job.profile, job.name, { brokered: job.brokered === true });
    if (lock) await writeFile(join(jobDir(config, job.name), CREDENTIAL_LOCK_FILE), lock.file, { mode: 0o600 });
  } catch (err) {
    if (lock) await unlockCredential(config, lock.file);
    await removeJobFolder(config, job.name);
    throw err;
  }
  return { held: true };
}

/**
 * Takes the credential for a workflow job whose folder its launch made (prepareJobFolder), or says who holds it: the
 * release's first step. The holder is recorded in the folder, so the job's cleanup (finishJobFolder) lets go of it.
 */
export async function takeCredential(
  config: Config,
  job: LaneJob,
  removeContainer?: (name: string) => Promise<void>,
): Promise<Hold> {
  const lock = await lockFor(config, job, removeContainer);
  if (lock && !lock.held) return { held: false, heldBy: describeHolders(lock.key, lock.holders) };
  if (!lock) return { held: true };
  try {
    await writeFile(join(jobDir(config, job.name), CREDENTIAL_LOCK_FILE), lock.file, { mode: 0o600 });
  } catch (err) {
    await unlockCredential(config, lock.file);
    throw err;
  }
  return { held: true };
}

async function lockFor(config: Config, job: LaneJob, removeContainer?: (name: string) => Promise<void>) {
  // A lane run that died holding this credential must not keep it: freed first, its tokens written back.
  await sweepDeadLaneRuns(config, removeContainer);
  return lockCredential(config, job.profile, { kind: job.kind, name: job.name });
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
