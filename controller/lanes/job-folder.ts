// The per-job folder behind a lane's mounts: private copies of the host's subscription auth, owned by the container
// user, the release folder, the data stores' gates and the rendered MCP files. The container starts with the auth folders empty; the copies
// arrive at the release (release.ts). When the job ends, credentials the agent refreshed go back to the host, then
// the folder goes. A manifest on disk records what was copied, so a restarted controller can still write back.
import { chmod, chown, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Agent } from '../../lane-contract/agents.js';
import { replaceFileAtomically } from '../../lane-contract/atomic-file.js';
import { AUTH_FILES, CLAUDE_JSON } from '../../lane-contract/auth-files.js';
import {
  sha256 as sha,
  writeBackCredential,
  type CopiedCredential,
  type WriteBack,
} from '../../lane-contract/credential-write-back.js';
import type { Config, Profile } from '../config/config.js';
import { unlockCredential } from './credential-lock.js';
import { jobDir } from './lane-layout.js';
import { renderClaudeMcp, renderCodexMcp } from './mcp-render.js';
import { JOB_STARTED_HOOK, jobStartedHookScript } from './job-started-hook.js';
import { claudeAccountIn, providerLoginCheck } from './login-check.js';
import { closeDataGates, prepareDataGatesForRemoval } from './data-release.js';
import { placeholderFiles, readBrokerGrant, type BrokerGrant, type HostFiles } from './broker-placeholders.js';

interface CopiedFile extends CopiedCredential {
  credential: boolean;
}
interface Manifest {
  files: CopiedFile[];
}

const MANIFEST = 'manifest.json';
/** Names the credential-lock holder file the job's release took (credential-hold.ts), outside every mount. */
export const CREDENTIAL_LOCK_FILE = 'credential-lock';

/** The container user that must own the auth copies: the profile's `user`, else the runner image's UID 1000. */
export function containerOwner(profile: Profile): { uid: number; gid: number } {
  const [uid, gid] = (profile.user ?? '1000').split(':').map(Number);
  return { uid: uid!, gid: gid ?? uid! };
}

/**
 * Creates the job's folder as the container starts with it: the auth folders empty (owned by the container user, who
 * may write refreshed tokens there later), the secrets, gh and release folders empty, the MCP files rendered (they name
 * token variables, never values; `brokered`: the launch starts a broker for the job, which its token servers are
 * rendered at). Throws, naming the missing file, before making anything: a job whose credential is missing would only
 * fail later, at its release. Nothing secret is copied here: see releaseAuth.
 */
export async function prepareJobFolder(
  config: Config,
  profileName: string,
  profile: Profile,
  runnerName: string,
  { brokered = false }: { brokered?: boolean } = {},
): Promise<void> {
  if (!hasJobFolder(profile)) return;
  await checkJobFolderSources(profileName, profile);
  const dir = jobDir(config, runnerName);
  const owner = containerOwner(profile);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  try {
    for (const [i, m] of profile.mounts.entries()) {
      if (m.kind === 'secrets') await sharedDir(join(dir, 'secrets', String(i)));
      if (m.kind === 'gh') await sharedDir(join(dir, 'gh', String(i)));
      if (m.kind === 'auth') await privateDir(join(dir, 'auth', m.agent), owner);
    }
    await closeDataGates(config, profile, runnerName);
    if (profile.trusted) {
      await sharedDir(join(dir, 'release'));
      await sharedDir(join(dir, 'hooks'));
      await writeFile(join(dir, 'hooks', JOB_STARTED_HOOK), jobStartedHookScript(), { mode: 0o755 });
    }
    if (profile.mcp.length > 0) {
      const mcp = join(dir, 'mcp');
      await sharedDir(mcp);
      // A brokered job's token and oauth servers at its broker, whose address JobBrokers.grant writes in once known.
      await writeFile(join(mcp, 'claude.json'), renderClaudeMcp(profile.mcp, brokered), { mode: 0o644 });
      await writeFile(join(mcp, 'codex.toml'), renderCodexMcp(profile.mcp, brokered), { mode: 0o644 });
    }
  } catch (err) {
    await removeJobFolder(config, runnerName);
    throw err;
  }
}

const hasJobFolder = (profile: Profile) =>
  profile.trusted || profile.mcp.length > 0 || profile.mounts.some((m) => m.kind === 'auth');

/**
 * The host's files a job folder is made for, checked without making it: throws, naming the first one missing (a gh
 * login's folder, an agent's credential), as prepareJobFolder does. The launcher checks them before GitHub registers a
 * runner and makes the folder while it does.
 */
export async function checkJobFolderSources(profileName: string, profile: Profile): Promise<void> {
  if (!hasJobFolder(profile)) return;
  for (const [i, m] of profile.mounts.entries()) {
    if (m.kind === 'gh' && !(await isDir(m.source)))
      throw new Error(`profiles.${profileName}.mounts[${i}]: ${m.source} is missing; log in with gh on the host first`);
    if (m.kind !== 'auth') continue;
    for (const f of authFiles(m))
      if (f.credential && profile.auth !== 'broker' && !(await isFile(f.source)))
        throw new Error(
          `profiles.${profileName}.mounts[${i}]: ${f.source} is missing; log in to ${m.agent} on the host first`,
        );
  }
}

/** Removes the job's folder, whatever it holds; its data gates are made listable first. */
export async function removeJobFolder(config: Config, runnerName: string): Promise<void> {
  await prepareDataGatesForRemoval(config, runnerName);
  await rm(jobDir(config, runnerName), { recursive: true, force: true });
}

const isFile = (path: string) =>
  stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
const isDir = (path: string) =>
  stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );

/** The files an auth mount carries, from the host. */
function authFiles(m: Extract<Profile['mounts'][number], { kind: 'auth' }>) {
  const files: Array<{ source: string; name: string; credential: boolean }> = AUTH_FILES[m.agent as Agent].map((f) => ({
    source: join(m.source, f.name),
    ...f,
  }));
  if (m.claudeJson) files.push({ source: m.claudeJson, name: CLAUDE_JSON, credential: false });
  return files;
}

/**
 * Copies the host's subscription auth into the job's auth folders, owned by the container user, 0600, and records
 * them in the manifest that write-back reads: only a released job can write a credential back. Each copy replaces
 * what is there by rename, so a file or symlink the job planted in its auth folder is replaced, never written through.
 */
/**
 * Rewrites the job's rendered MCP files through `rewrite` before its container starts: behind egress, a server named
 * at `127.0.0.1:<port>` of a relayed service is reached at the gateway's address instead.
 */
export async function rewriteMcpFiles(
  config: Config,
  runnerName: string,
  rewrite: (text: string) => string,
): Promise<void> {
  for (const name of ['claude.json', 'codex.toml']) {
    const path = join(jobDir(config, runnerName), 'mcp', name);
    const text = await readFile(path, 'utf8').catch(() => undefined);
    if (text !== undefined && rewrite(text) !== text) await writeFile(path, rewrite(text), { mode: 0o644 });
  }
}

export async function releaseAuth(config: Config, profileName: string, profile: Profile, runnerName: string) {
  const dir = jobDir(config, runnerName);
  const owner = containerOwner(profile);
  const manifest: Manifest = { files: [] };
  // A brokered job gets placeholders and nothing to write back (broker-placeholders.ts).
  const grant = profile.auth === 'broker' ? await readBrokerGrant(dir) : undefined;
  for (const [i, m] of profile.mounts.entries()) {
    if (m.kind !== 'auth') continue;
    if (grant) {
      await releasePlaceholders(
        m,
        join(dir, 'auth', m.agent),
        grant,
        asOwner(owner),
        `profiles.${profileName}.mounts[${i}]`,
      );
      continue;
    }
    const copyDir = join(dir, 'auth', m.agent);
    for (const f of authFiles(m)) {
      const text = await readFile(f.source, 'utf8').catch(() => undefined);
      if (text === undefined) {
        if (f.credential)
          throw new Error(
            `profiles.${profileName}.mounts[${i}]: ${f.source} is missing; log in to ${m.agent} on the host first`,
          );
        continue;
      }
      const copy = join(copyDir, f.name);
      await replaceFileAtomically(copy, text, { mode: 0o600, owner: asOwner(owner) });
      manifest.files.push({ agent: m.agent, source: f.source, copy, credential: f.credential, sha256: sha(text) });
    }
  }
  await writeFile(join(dir, MANIFEST), JSON.stringify(manifest), { mode: 0o600 });
}

/** Writes a brokered job's placeholder files for one auth mount, read off the host's files as the CLIs left them. */
async function releasePlaceholders(
  m: Extract<Profile['mounts'][number], { kind: 'auth' }>,
  copyDir: string,
  grant: BrokerGrant,
  owner: { uid: number; gid: number },
  path: string,
): Promise<void> {
  const host: HostFiles = {};
  for (const f of authFiles(m)) {
    const text = await readFile(f.source, 'utf8').catch(() => undefined);
    if (text !== undefined) host[f.name] = text;
  }
  const files = placeholderFiles(m.agent as Agent, host, grant);
  if ('error' in files) throw new Error(`${path}: ${files.error}; log in to ${m.agent} on the host first`);
  for (const [name, text] of Object.entries(files))
    await replaceFileAtomically(join(copyDir, name), text, { mode: 0o600, owner });
}

/** The owner to give a released file: none to change when the controller already runs as that uid. */
export function asOwner(owner: { uid: number; gid: number }) {
  return process.getuid?.() === 0
    ? owner
    : { uid: process.getuid?.() ?? owner.uid, gid: process.getgid?.() ?? owner.gid };
}

/** A folder the controller fills and the container reads through a read-only mount. */
async function sharedDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o755 });
  await chmod(path, 0o755);
}

async function privateDir(path: string, owner: { uid: number; gid: number }): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 });
  await chmod(path, 0o700);
  await chown(path, owner.uid, owner.gid).catch(notPermitted(path, owner));
}

const notPermitted = (path: string, owner: { uid: number }) => (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPERM' && process.getuid?.() === owner.uid) return; // already ours
  throw new Error(`cannot give ${path} to uid ${owner.uid} (${err.code}): run the controller as root or as that uid`);
};

/**
 * Writes credentials the job refreshed back to the host by the lane contract's one rule (see
 * credential-write-back.ts), each within its deadline, then removes the job's folder whatever the job left in it.
 */
export async function finishJobFolder(config: Config, runnerName: string): Promise<WriteBack[]> {
  const dir = jobDir(config, runnerName);
  // The manifest sits outside every mount, so the job cannot have touched it.
  const manifest = await readFile(join(dir, MANIFEST), 'utf8').then(
    (t) => JSON.parse(t) as Manifest,
    () => undefined,
  );
  const files = manifest?.files ?? [];
  const claudeJson = files.find((f) => f.agent === 'claude' && !f.credential)?.source;
  // The provider, not the job's file, says whose login a refreshed credential is (login-check.ts).
  const checkLogin = config.loginCheck
    ? providerLoginCheck(
        { codex: config.loginCheck.codexTokenUrl, claude: config.loginCheck.claudeTokenUrl },
        async () => claudeAccountIn(claudeJson && (await readFile(claudeJson, 'utf8').catch(() => undefined))),
      )
    : undefined;
  const results = await Promise.all(
    files.filter((f) => f.credential).map((f) => writeBackCredential(f, checkLogin ? { checkLogin } : {})),
  );
  const lock = await readFile(join(dir, CREDENTIAL_LOCK_FILE), 'utf8').catch(() => undefined);
  await removeJobFolder(config, runnerName);
  // Only after the write-back: the next holder of the credential copies what this job left on the host.
  if (lock) await unlockCredential(config, lock);
  return results;
}

/** Runner names that have a job folder on disk. */
export async function listJobFolders(config: Config): Promise<string[]> {
  return readdir(join(config.stateDir, 'jobs')).catch(() => []);
}
