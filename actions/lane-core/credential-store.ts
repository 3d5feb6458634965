// The lane's subscription auth, copied into a private per-run home the CLI may rewrite, and the refreshed
// credentials written back to the lane's copy afterwards. Private because two jobs sharing one CODEX_HOME would
// race on token refresh; written back because a refresh rotates the refresh token and the old one stops working.
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { replaceFileAtomically } from '../../controller/util/atomic-file.js';
import { isCredentialShape, isRefreshOf } from './credential-shape.js';
import { LANE_LABELS, type LaneEnvironment } from './lane-environment.js';
import type { Agent } from './lane-settings.js';

interface HomeFile {
  source: string;
  /** Path inside the private home. */
  target: string;
  credential: boolean;
  /** The bytes as copied, to tell a refresh by the CLI from an untouched file, and a concurrent host change. */
  copied?: string;
}

export interface PrivateHome {
  agent: Agent;
  dir: string;
  /** Variables that point the CLI at the private home. */
  env: Record<string, string>;
  files: HomeFile[];
}

export type WriteBackOutcome = 'unchanged' | 'written' | 'rejected-shape' | 'rejected-other-login' | 'source-changed' | 'write-failed';
export interface WriteBack {
  source: string;
  outcome: WriteBackOutcome;
  /** Why a write failed. */
  error?: string;
}

export class NotOnLaneError extends Error {}

export function homeFiles(agent: Agent, lane: LaneEnvironment, dir: string): HomeFile[] {
  return agent === 'codex'
    ? [
        { source: join(lane.codexHome, 'auth.json'), target: join(dir, 'auth.json'), credential: true },
        { source: join(lane.codexHome, 'config.toml'), target: join(dir, 'config.toml'), credential: false },
        { source: join(lane.codexHome, 'AGENTS.md'), target: join(dir, 'AGENTS.md'), credential: false },
      ]
    : [
        { source: join(lane.claudeConfigDir, '.credentials.json'), target: join(dir, '.credentials.json'), credential: true },
        { source: join(lane.claudeConfigDir, 'settings.json'), target: join(dir, 'settings.json'), credential: false },
        // With CLAUDE_CONFIG_DIR set, claude reads its global state from `.claude.json` inside that directory.
        { source: lane.claudeJson, target: join(dir, '.claude.json'), credential: false },
      ];
}

/** Copies the lane's auth into `runDir`; throws NotOnLaneError when the credential file is not there. */
export async function openPrivateHome(agent: Agent, lane: LaneEnvironment, runDir: string): Promise<PrivateHome> {
  const dir = join(runDir, agent === 'codex' ? 'codex-home' : 'claude-config');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const files = homeFiles(agent, lane, dir);
  try {
    for (const file of files) {
      const text = await readFile(file.source, 'utf8').catch(() => undefined);
      if (text === undefined) {
        if (file.credential) throw new NotOnLaneError(notOnLaneMessage(agent, lane, file.source));
        continue;
      }
      // The bytes read are the bytes written, so "unchanged" after the run compares like with like.
      file.copied = text;
      await writeFile(file.target, text, { mode: 0o600 });
    }
  } catch (err) {
    // Credentials copied before the failure must not stay behind: the caller only cleans up a home it got.
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const env: Record<string, string> = agent === 'codex' ? { CODEX_HOME: dir } : { CLAUDE_CONFIG_DIR: dir };
  return { agent, dir, env, files };
}

function notOnLaneMessage(agent: Agent, lane: LaneEnvironment, missing: string): string {
  const variable = agent === 'codex' ? 'FACTORY_CODEX_HOME' : 'FACTORY_CLAUDE_CONFIG_DIR';
  const where = lane.fromProfile[agent] ? `the lane profile's ${variable}` : `${variable} is not set, so the home-directory fallback`;
  // A job on the other agent's lane is the likely mistake; saying which lane it is on points at the runs-on line.
  const on = lane.lane ? `on a ${lane.lane} lane${lane.profile ? ` (profile ${lane.profile})` : ''}, not` : 'not on';
  return `no ${agent} credentials at ${missing} (${where}). This job is ${on} a ${agent} lane: run it with runs-on: ${LANE_LABELS[agent]}`;
}

/** The credential texts now in the private home (after the run), for masking values the CLI refreshed. */
export async function currentCredentials(home: PrivateHome): Promise<string[]> {
  const texts = await Promise.all(home.files.filter((f) => f.credential).map((f) => readFile(f.target, 'utf8').catch(() => '')));
  return [...home.files.filter((f) => f.credential).map((f) => f.copied ?? ''), ...texts].filter(Boolean);
}

/** Writes credentials the CLI refreshed back to their source, atomically, when they still parse as credentials
 * of the same login. */
export async function writeBackCredentials(home: PrivateHome, write = replaceFileAtomically): Promise<WriteBack[]> {
  const results: WriteBack[] = [];
  for (const file of home.files.filter((f) => f.credential && f.copied !== undefined)) {
    const now = await readFile(file.target, 'utf8').catch(() => undefined);
    if (now === undefined || now === file.copied) {
      results.push({ source: file.source, outcome: 'unchanged' });
    } else if (!isCredentialShape(home.agent, now)) {
      results.push({ source: file.source, outcome: 'rejected-shape' });
    } else if (!isRefreshOf(home.agent, file.copied!, now)) {
      results.push({ source: file.source, outcome: 'rejected-other-login' });
    } else if ((await readFile(file.source, 'utf8').catch(() => undefined)) !== file.copied) {
      // Another job refreshed the lane's copy meanwhile; its tokens are at least as new as ours.
      results.push({ source: file.source, outcome: 'source-changed' });
    } else {
      // A lane directory the job cannot write must not cost the run its reports: the outcome says what happened.
      const error = await write(file.source, now).then(() => undefined, (err: Error) => err.message);
      results.push(error === undefined ? { source: file.source, outcome: 'written' } : { source: file.source, outcome: 'write-failed', error });
    }
  }
  return results;
}
