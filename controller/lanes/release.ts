// The release: a lane container starts with its auth copies, secrets and env-file values absent and its data stores
// shut, and gets them only once GitHub's assignment names a job that is entitled to the lane
// (daemon/assignment-check.ts decides that). Then the auth copies, the secrets folders' files and the env-file values
// are written into the job's folder, each file atomically, the data stores opened (data-release.ts), and the marker last: the action waits for the marker and so never sees half a release.
import { lstat, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { replaceFileAtomically } from '../../lane-contract/atomic-file.js';
import { readJobText } from '../../lane-contract/job-file.js';
import {
  RELEASE_MARKER,
  RELEASED_ENV,
  parseReleasedEnv,
  type ReleaseMarker,
} from '../../lane-contract/release-files.js';
import type { Config, Profile } from '../config/config.js';
import { readBrokerGrant, type BrokerGrant } from './broker-placeholders.js';
import { openDataGates } from './data-release.js';
import { readEnvFiles } from './env-file.js';
import { GH_SOCKET, ghPlaceholderFiles } from './gh-login.js';
import { asOwner, containerOwner, releaseAuth } from './job-folder.js';
import { CREDENTIAL_WAIT_FILE } from './job-started-hook.js';
import { jobDir } from './lane-layout.js';
import { brokeredMcpServers, MCP_BROKER_TOKEN_ENV } from './mcp-render.js';

/**
 * Whether a profile's runners get their credentials only on a verified assignment: every trusted (lane) profile.
 * Such a runner holds nothing secret until then, so it may be started before its job exists (warm pools); what it
 * does expose from its start (MCP files without secrets, its network) is listed in docs/security.md.
 */
export const releasesOnAssignment = (profile: Profile): boolean => profile.trusted;

export const releaseDir = (config: Config, runnerName: string) => join(jobDir(config, runnerName), 'release');
export const releasedSecretsDir = (config: Config, runnerName: string, mountIndex: number) =>
  join(jobDir(config, runnerName), 'secrets', String(mountIndex));

/** The job's copy of a gh login folder (hosts.yml holds its token): empty until the release, like a secrets folder. */
export const releasedGhDir = (config: Config, runnerName: string, mountIndex: number) =>
  join(jobDir(config, runnerName), 'gh', String(mountIndex));

/** Files a secrets or gh folder holds that are copied: regular files at its top level, as the action reads them. */
const MAX_SECRET_FILES = 200;

/**
 * The regular files at a host folder's top level, into the job's copy; the host's mode is kept, the owner is the
 * container's. `only`: the names a secrets mount lists; a listed name that is missing or not a regular file is left
 * out, as an unlisted one is (`factory doctor` names it).
 */
async function copyFolderFiles(
  source: string,
  dest: string,
  owner: { uid: number; gid: number },
  only?: readonly string[],
): Promise<void> {
  const names = (only ? [...new Set(only)] : await readdir(source)).sort().slice(0, MAX_SECRET_FILES);
  for (const name of names) {
    const s = await lstat(join(source, name)).catch(() => undefined);
    if (!s?.isFile()) continue;
    // A 0644 file stays readable by the agent's user; a 0600 one only by the container user, as on the host.
    await replaceFileAtomically(join(dest, name), await readFile(join(source, name), 'utf8'), {
      mode: s.mode & 0o777,
      owner,
    });
  }
}

/** Puts the lane's credentials in place for the job GitHub gave this runner; the marker goes last. */
export async function releaseJob(
  config: Config,
  profileName: string,
  profile: Profile,
  runnerName: string,
  grant: Omit<ReleaseMarker, 'releasedAt'>,
  now = Date.now(),
): Promise<void> {
  const owner = asOwner(containerOwner(profile));
  const broker = profile.auth === 'broker' ? await readBrokerGrant(jobDir(config, runnerName)) : undefined;
  const env = releasedMcpEnv(await readEnvFiles(profile.envFiles), profile, broker);
  await releaseAuth(config, profileName, profile, runnerName);
  for (const [i, m] of profile.mounts.entries()) {
    if (m.kind === 'secrets')
      await copyFolderFiles(m.source, releasedSecretsDir(config, runnerName, i), owner, m.files);
    if (m.kind !== 'gh') continue;
    if (broker?.gh) await releaseGhPlaceholder(m, releasedGhDir(config, runnerName, i), broker.gh, owner);
    else await copyFolderFiles(m.source, releasedGhDir(config, runnerName, i), owner);
  }
  await openDataGates(config, profile, runnerName);
  const dir = releaseDir(config, runnerName);
  await replaceFileAtomically(join(dir, RELEASED_ENV), JSON.stringify(env), { mode: 0o600, owner });
  const marker: ReleaseMarker = { ...grant, releasedAt: new Date(now).toISOString() };
  await replaceFileAtomically(join(dir, RELEASE_MARKER), JSON.stringify(marker), { mode: 0o644, owner });
}

/**
 * A brokered job's gh login: a hosts.yml holding its gh placeholder (with the host's mode, as a copy would have) and
 * a config.yml that sends gh to the broker's socket beside them (gh-login.ts). Nothing of the host's token.
 */
async function releaseGhPlaceholder(
  m: Extract<Profile['mounts'][number], { kind: 'gh' }>,
  dest: string,
  placeholder: string,
  owner: { uid: number; gid: number },
): Promise<void> {
  const read = (name: string) => readFile(join(m.source, name), 'utf8').catch(() => undefined);
  const hostsMode = await lstat(join(m.source, 'hosts.yml')).then(
    (s) => s.mode & 0o777,
    () => 0o600,
  );
  const files = ghPlaceholderFiles(
    { hostsYml: await read('hosts.yml'), configYml: await read('config.yml') },
    placeholder,
    join(m.target, GH_SOCKET),
  );
  await replaceFileAtomically(join(dest, 'hosts.yml'), files['hosts.yml'], { mode: hostsMode, owner });
  await replaceFileAtomically(join(dest, 'config.yml'), files['config.yml'], { mode: 0o644, owner });
}

/**
 * The env-file values a job gets; a brokered one (its launch granted it a broker) without its MCP servers' tokens,
 * with its placeholder instead, which its rendered entries send to the broker, which adds them (mcp-render.ts).
 * A job with no grant (a `copy` profile's, the doctor's) gets the tokens, as it gets a copy of the login.
 */
export function releasedMcpEnv(
  env: Record<string, string>,
  profile: Profile,
  grant: BrokerGrant | undefined,
): Record<string, string> {
  const servers = brokeredMcpServers(profile);
  if (!grant || servers.length === 0) return env;
  const kept = { ...env };
  for (const s of servers) if (s.credential === 'token') delete kept[s.tokenEnv];
  return { ...kept, [MCP_BROKER_TOKEN_ENV]: grant.token };
}

/**
 * Tells the job's gate that its verified job waits for its login, so the gate keeps waiting; cleared once the login
 * is taken. Who holds it (host paths, other runners' names) is the controller's log's to say, not the job's.
 */
export async function noteCredentialWait(config: Config, profile: Profile, runnerName: string): Promise<void> {
  const owner = asOwner(containerOwner(profile));
  const file = join(releaseDir(config, runnerName), CREDENTIAL_WAIT_FILE);
  await replaceFileAtomically(file, 'in use by another job or a factory lane run; it starts once that one ends\n', {
    mode: 0o644,
    owner,
  });
}

export async function clearCredentialWait(config: Config, runnerName: string): Promise<void> {
  await rm(join(releaseDir(config, runnerName), CREDENTIAL_WAIT_FILE), { force: true });
}

/** The release a job folder records, if any: a restarted controller reads it instead of releasing again. */
export async function readRelease(config: Config, runnerName: string): Promise<ReleaseMarker | undefined> {
  const text = await readJobText(join(releaseDir(config, runnerName), RELEASE_MARKER));
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as ReleaseMarker;
  } catch {
    return undefined;
  }
}

/** The env-file values released to a job, for scrubbing its log tail; none when nothing was released. */
export async function releasedValues(config: Config, runnerName: string): Promise<string[]> {
  const text = await readJobText(join(releaseDir(config, runnerName), RELEASED_ENV));
  if (text === undefined) return [];
  const env = parseReleasedEnv(text);
  return 'error' in env ? [] : Object.values(env);
}

/**
 * Whether the controller keeps a runner's last log lines (its log, the timeline, GET /jobs/ID). Not those of a lane
 * runner whose release holds credentials: its job may print what the release put in its reach (secrets files, auth
 * tokens, the gh login, env-file values) in any form it likes, spaced out, encrypted or split, and no scrubber can find
 * every one; GitHub's job log, which the runner masks and only the repo's readers see, has it all. Decided from the job
 * folder, which the launch makes (with a folder for each kind of credential its profile has) and only the cleanup
 * removes, after the tail is read. A trusted profile that carries no credential (host networking alone) keeps its tail.
 * `released`: the env-file values released to it (releasedValues).
 */
export async function keepsLogTail(config: Config, runnerName: string, released: readonly string[]): Promise<boolean> {
  const dir = jobDir(config, runnerName);
  const isDir = (path: string) =>
    stat(path).then(
      (s) => s.isDirectory(),
      () => false,
    );
  if (!(await isDir(releaseDir(config, runnerName)))) return true;
  for (const kind of ['auth', 'secrets', 'gh']) if (await isDir(join(dir, kind))) return false;
  return released.length === 0;
}

/**
 * Whether the controller keeps the names a runner's egress gateway refused (its log, the timeline, GET /jobs/ID). A
 * refused name is text the job chose, so a lane job can spell what the release gave it into one (`<secret>.test`,
 * split over labels and names, encoded as it likes) as well as into its output: the same rule as the log tail.
 */
export async function keepsRefusedNames(config: Config, runnerName: string): Promise<boolean> {
  return keepsLogTail(config, runnerName, await releasedValues(config, runnerName));
}

/** What a lane runner's record says in place of its log tail. */
export const LANE_TAIL_WITHHELD =
  "no log tail kept for a lane job: what it printed may hold what the release gave it; see the job's log on GitHub";
