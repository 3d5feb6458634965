// One job per credential, across processes: the controller's workflow jobs and `factory lane run` (another process,
// perhaps started by Paperclip) hold a credential through the same folder under stateDir. Each holder is a file in
// it, made and counted under the lane contract's cross-process file lock, so two processes never both take the last
// place. The controller's scheduler still queues its own jobs on the credential; this lock is what the two share.
import { createHash } from 'node:crypto';
import { existsSync, readlinkSync } from 'node:fs';
import { mkdir, readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { withFileLock } from '../../lane-contract/file-lock.js';
import type { Config, Profile } from '../config/config.js';
import { credentialKeys, jobDir } from './lane-layout.js';

export interface CredentialHolder {
  /** A workflow job's runner (the controller) or a `factory lane run`. */
  kind: 'job' | 'lane-run';
  /** The runner or container name; its job folder is jobDir(config, name). */
  name: string;
  pid: number;
  /** The pid namespace the pid belongs to: a pid is only checked by a process that sees the same ones. */
  pidNamespace: string;
  since: number;
}

/** Held: `file` is what unlockCredential takes, one holder file per login, one a line. Not held: the login that is full. */
export type CredentialLock =
  { held: true; key: string; file: string } | { held: false; key: string; holders: CredentialHolder[] };

// A holder whose job folder does not exist yet is a launch between taking the lock and copying the credentials.
const FOLDER_GRACE_MS = 60_000;

export const credentialLocks = (config: Config) => join(config.stateDir, 'credentials');

function lockDir(config: Config, key: string): string {
  const slug = key
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-')
    .slice(0, 40);
  return join(credentialLocks(config), `${slug}-${createHash('sha256').update(key).digest('hex').slice(0, 12)}`);
}

export function pidNamespace(): string {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return 'unknown';
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A lane run whose process is gone (killed with SIGKILL, the host rebooted): its place is free once it is swept. */
export const isDeadLaneRun = (h: CredentialHolder) =>
  h.kind === 'lane-run' && h.pidNamespace === pidNamespace() && h.pidNamespace !== 'unknown' && !isAlive(h.pid);

/** Holders with neither a job folder (past the grace) nor a live process behind them hold nothing. */
function isStale(config: Config, h: CredentialHolder, now: number): boolean {
  return !existsSync(jobDir(config, h.name)) && now - h.since > FOLDER_GRACE_MS;
}

async function readHolders(dir: string): Promise<Array<{ file: string; holder: CredentialHolder }>> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.json'));
  const out: Array<{ file: string; holder: CredentialHolder }> = [];
  for (const n of names) {
    const holder = await readFile(join(dir, n), 'utf8').then(
      (t) => JSON.parse(t) as CredentialHolder,
      () => undefined,
    );
    if (holder) out.push({ file: join(dir, n), holder });
  }
  return out;
}

/**
 * Takes one of the profile's `credentialConcurrency` places on each login it holds (keyed by the auth source's host
 * path, credentialKeys) for `holder`, or says who holds the first full one; then none is kept. Logins are taken in
 * one order (sorted keys), so two holders each wanting two logins never wait on each other. Undefined when the
 * profile carries no credential.
 */
export async function lockCredential(
  config: Config,
  profile: Profile,
  holder: Omit<CredentialHolder, 'pid' | 'pidNamespace' | 'since'>,
  now = Date.now(),
): Promise<CredentialLock | undefined> {
  const keys = credentialKeys(config, profile);
  if (keys.length === 0) return undefined;
  const taken: string[] = [];
  const release = async () => {
    for (const file of taken) await unlink(file).catch(() => {});
  };
  for (const key of keys) {
    const place = await takePlace(config, key, profile.credentialConcurrency, holder, now).catch(async (err) => {
      await release();
      throw err;
    });
    if (!place.held) {
      await release();
      return place;
    }
    taken.push(place.file);
  }
  return { held: true, key: keys.join(' '), file: taken.join('\n') };
}

async function takePlace(
  config: Config,
  key: string,
  concurrency: number,
  holder: Omit<CredentialHolder, 'pid' | 'pidNamespace' | 'since'>,
  now: number,
): Promise<CredentialLock> {
  const dir = lockDir(config, key);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return withFileLock(join(dir, 'holders'), async (): Promise<CredentialLock> => {
    const holders: CredentialHolder[] = [];
    for (const h of await readHolders(dir)) {
      if (isStale(config, h.holder, now)) await unlink(h.file).catch(() => {});
      else holders.push(h.holder);
    }
    if (holders.length >= concurrency) return { held: false, key, holders };
    const file = join(dir, `${holder.name}.json`);
    const record: CredentialHolder = { ...holder, pid: process.pid, pidNamespace: pidNamespace(), since: now };
    await writeFile(file, JSON.stringify(record), { mode: 0o600 });
    return { held: true, key, file };
  });
}

/** Lets go of the places taken by lockCredential; only files inside the credentials folder are ever removed. */
export async function unlockCredential(config: Config, files: string): Promise<void> {
  const root = credentialLocks(config);
  for (const file of files.split('\n')) {
    if (dirname(dirname(file)) !== root || !basename(file).endsWith('.json')) continue;
    await unlink(file).catch(() => {});
  }
}

/** Every holder of every credential, for sweeping lane runs that died holding one. */
export async function credentialHolders(config: Config): Promise<Array<{ file: string; holder: CredentialHolder }>> {
  const root = credentialLocks(config);
  const dirs = await readdir(root).catch(() => [] as string[]);
  return (await Promise.all(dirs.map((d) => readHolders(join(root, d))))).flat();
}

/** How a refusal reads: who holds the credential, since when. */
export function describeHolders(key: string, holders: CredentialHolder[], now = Date.now()): string {
  const who = holders.map((h) => {
    const what = h.kind === 'job' ? `workflow job runner ${h.name}` : `factory lane run ${h.name} (pid ${h.pid})`;
    return `${what}, for ${Math.round((now - h.since) / 1000)}s`;
  });
  return `credential ${key} is in use by ${who.join('; ')}`;
}
