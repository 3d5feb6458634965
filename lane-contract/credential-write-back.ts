// The one rule for putting a credential a job refreshed back where it came from, used by the controller (job
// folder -> host) and by the action (private home -> lane copy). Only a changed file, only a regular file of sane
// size, only when it still parses as that agent's credentials of the same login, only when the source is still
// what was copied (else another job refreshed it first and its tokens win); merged into the source, atomically,
// under a lock, and within a deadline so one job's folder can never hold up cleanup, startup or other jobs.
import { createHash } from 'node:crypto';
import type { Agent } from './agents.js';
import { replaceFileAtomically } from './atomic-file.js';
import { isCredentialShape, isRefreshOf, mergeRefresh } from './credential-shape.js';
import { withFileLock } from './file-lock.js';
import { readJobFile, type JobFile } from './job-file.js';

export interface CopiedCredential {
  agent: Agent;
  /** Where the credential came from and goes back to. */
  source: string;
  /** The copy the job (or the agent) could rewrite. */
  copy: string;
  /** sha256 of the bytes as copied. */
  sha256: string;
}

export type WriteBackOutcome =
  | 'unchanged'
  | 'written'
  | 'missing'
  | 'unsafe'
  | 'rejected-shape'
  | 'rejected-other-login'
  | 'source-changed'
  | 'write-failed'
  | 'timed-out';

export interface WriteBack {
  source: string;
  outcome: WriteBackOutcome;
  /** What was wrong, for outcomes other than unchanged and written. */
  detail?: string;
}

/** Lock wait (10 s) plus a slow disk; a write-back that takes longer is not waited for. */
export const WRITE_BACK_TIMEOUT_MS = 15_000;

export const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Outcomes after which the source still holds a working login: the rotated token was kept or a newer one is there. */
export const keptLogin = (outcome: WriteBackOutcome) =>
  outcome === 'unchanged' || outcome === 'written' || outcome === 'source-changed';

/**
 * Whose login the job's file really is, asked of someone the job cannot answer for (the provider, by the host): ok
 * with the text to merge (what the provider handed the host), or why not. Without it the identity fields the file
 * itself holds decide, which a job can write.
 */
export type LoginCheck = (
  agent: Agent,
  host: string,
  job: string,
) => Promise<{ ok: true; text: string } | { ok: false; detail: string }>;

export interface WriteBackOptions {
  timeoutMs?: number;
  write?: (path: string, text: string) => Promise<void>;
  /** Reads the copy; the action reads one its agent (another user) owns through that user. */
  readCopy?: (path: string) => Promise<JobFile>;
  checkLogin?: LoginCheck;
}

export async function writeBackCredential(file: CopiedCredential, opts: WriteBackOptions = {}): Promise<WriteBack> {
  const timeoutMs = opts.timeoutMs ?? WRITE_BACK_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<WriteBack>((resolve) => {
    timer = setTimeout(
      () => resolve({ source: file.source, outcome: 'timed-out', detail: `write-back took over ${timeoutMs / 1000}s` }),
      timeoutMs,
    );
    timer.unref();
  });
  const work = decide(file, opts.write ?? replaceFileAtomically, opts.readCopy ?? readJobFile, opts.checkLogin).catch(
    (err: Error) => ({
      source: file.source,
      outcome: 'write-failed' as const,
      detail: err.message,
    }),
  );
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

async function decide(
  file: CopiedCredential,
  write: (path: string, text: string) => Promise<void>,
  readCopy: (path: string) => Promise<JobFile>,
  checkLogin: LoginCheck | undefined,
): Promise<WriteBack> {
  const { source } = file;
  const copy = await readCopy(file.copy);
  if (copy.kind === 'missing') return { source, outcome: 'missing' };
  if (copy.kind === 'unsafe') return { source, outcome: 'unsafe', detail: copy.reason };
  const now = copy.text;
  if (sha256(now) === file.sha256) return { source, outcome: 'unchanged' };
  if (!isCredentialShape(file.agent, now)) return { source, outcome: 'rejected-shape' };
  return withFileLock(source, async (): Promise<WriteBack> => {
    const host = await readJobFile(source);
    if (host.kind !== 'text' || sha256(host.text) !== file.sha256) return { source, outcome: 'source-changed' };
    // Another login written by the job would send every later job on this credential to that account.
    if (!isRefreshOf(file.agent, host.text, now)) return { source, outcome: 'rejected-other-login' };
    if (!checkLogin) {
      await write(source, mergeRefresh(file.agent, host.text, now));
      return { source, outcome: 'written' };
    }
    const checked = await checkLogin(file.agent, host.text, now);
    if (!checked.ok) return { source, outcome: 'rejected-other-login', detail: checked.detail };
    await write(source, mergeRefresh(file.agent, host.text, checked.text));
    return { source, outcome: 'written' };
  });
}
