// The lane's subscription auth, copied into a private per-run home the CLI may rewrite, and the refreshed
// credentials written back to the lane's copy afterwards by the lane contract's one rule. Private because two jobs
// sharing one CODEX_HOME would race on token refresh; written back because a refresh rotates the refresh token and
// the old one stops working.
import { chmod, chown, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AUTH_FILES, CLAUDE_JSON } from '../../lane-contract/auth-files.js';
import {
  sha256,
  writeBackCredential,
  type WriteBack,
  type WriteBackOptions,
} from '../../lane-contract/credential-write-back.js';
import { readJobFile, readJobText, type JobFile } from '../../lane-contract/job-file.js';
import { LANE_VARIABLES } from '../../lane-contract/lane-variables.js';
import { LANE_LABELS, type LaneEnvironment } from './lane-environment.js';
import type { Agent } from './lane-settings.js';

export type { WriteBack, WriteBackOutcome } from '../../lane-contract/credential-write-back.js';

interface HomeFile {
  source: string;
  /** Path inside the private home. */
  target: string;
  credential: boolean;
  /** The bytes as copied, to tell a refresh by the CLI from an untouched file, and a concurrent lane change. */
  copied?: string;
}

export interface PrivateHome {
  agent: Agent;
  dir: string;
  /** Variables that point the CLI at the private home. */
  env: Record<string, string>;
  files: HomeFile[];
  /** Mode for files the action adds: 0660 when an agent user shares the home through its group, else 0600. */
  fileMode: number;
}

export class NotOnLaneError extends Error {}

export function homeFiles(agent: Agent, lane: LaneEnvironment, dir: string): HomeFile[] {
  const laneDir = agent === 'codex' ? lane.codexHome : lane.claudeConfigDir;
  const files = AUTH_FILES[agent].map((f) => ({
    source: join(laneDir, f.name),
    target: join(dir, f.name),
    credential: f.credential,
  }));
  // With CLAUDE_CONFIG_DIR set, claude reads its global state from `.claude.json` inside that directory.
  if (agent === 'claude') files.push({ source: lane.claudeJson, target: join(dir, CLAUDE_JSON), credential: false });
  return files;
}

/** Copies the lane's auth into `runDir`; throws NotOnLaneError when the credential file is not there. With `gid`,
 * the home is shared with the agent user through that group (the runner's user is a member, the agent's primary). */
export async function openPrivateHome(
  agent: Agent,
  lane: LaneEnvironment,
  runDir: string,
  gid?: number,
): Promise<PrivateHome> {
  const dir = join(runDir, agent === 'codex' ? 'codex-home' : 'claude-config');
  const dirMode = gid === undefined ? 0o700 : 0o2770;
  const fileMode = gid === undefined ? 0o600 : 0o660;
  await mkdir(dir, { recursive: true, mode: dirMode });
  if (gid !== undefined) await chown(dir, -1, gid);
  await chmod(dir, dirMode);
  const files = homeFiles(agent, lane, dir);
  try {
    for (const file of files) {
      // The lane copy is the job's to write: an earlier step may have left a FIFO or a symlink there.
      const read = await readJobFile(file.source);
      if (read.kind === 'unsafe')
        throw new Error(`the lane's ${read.reason}; the controller gives each job regular files`);
      if (read.kind === 'missing') {
        if (file.credential) throw new NotOnLaneError(notOnLaneMessage(agent, lane, file.source));
        continue;
      }
      // The bytes read are the bytes written, so "unchanged" after the run compares like with like.
      file.copied = read.text;
      await writeFile(file.target, read.text, { mode: fileMode });
      await chmod(file.target, fileMode);
    }
  } catch (err) {
    // Credentials copied before the failure must not stay behind: the caller only cleans up a home it got.
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const env: Record<string, string> = agent === 'codex' ? { CODEX_HOME: dir } : { CLAUDE_CONFIG_DIR: dir };
  return { agent, dir, env, files, fileMode };
}

function notOnLaneMessage(agent: Agent, lane: LaneEnvironment, missing: string): string {
  const variable = agent === 'codex' ? LANE_VARIABLES.codexHome : LANE_VARIABLES.claudeConfigDir;
  const where = lane.fromProfile[agent]
    ? `the lane profile's ${variable}`
    : `${variable} is not set, so the home-directory fallback`;
  if (lane.lane === agent) {
    // On the right lane: the runs-on line is fine, the lane's login is what is missing.
    const profile = lane.profile ? ` (profile ${lane.profile})` : '';
    return `no ${agent} credentials at ${missing} (${where}). This job is on the ${agent} lane${profile}, but the lane has no ${agent} login: sign ${agent} in on the host into the profile's auth mount (kind: auth, agent: ${agent}; docs/lanes.md), then check it with factory doctor${lane.profile ? ` --profile ${lane.profile}` : ''}`;
  }
  // A job on the other agent's lane is the likely mistake; saying which lane it is on points at the runs-on line.
  const on = lane.lane ? `on a ${lane.lane} lane${lane.profile ? ` (profile ${lane.profile})` : ''}, not` : 'not on';
  return `no ${agent} credentials at ${missing} (${where}). This job is ${on} a ${agent} lane: run it with runs-on: ${LANE_LABELS[agent]}`;
}

/** The credential texts now in the private home (after the run), for masking values the CLI refreshed. */
export async function currentCredentials(
  home: PrivateHome,
  readCopy?: (path: string) => Promise<JobFile>,
): Promise<string[]> {
  const credentials = home.files.filter((f) => f.credential);
  const read = readCopy
    ? (path: string) => readCopy(path).then((f) => (f.kind === 'text' ? f.text : undefined))
    : readJobText;
  const texts = await Promise.all(credentials.map((f) => read(f.target)));
  return [...credentials.map((f) => f.copied), ...texts].filter((t): t is string => Boolean(t));
}

/** Writes credentials the CLI refreshed back to the lane's copy (see lane-contract/credential-write-back.ts). */
export async function writeBackCredentials(home: PrivateHome, opts: WriteBackOptions = {}): Promise<WriteBack[]> {
  const copied = home.files.filter((f) => f.credential && f.copied !== undefined);
  return Promise.all(
    copied.map((f) =>
      writeBackCredential({ agent: home.agent, source: f.source, copy: f.target, sha256: sha256(f.copied!) }, opts),
    ),
  );
}
