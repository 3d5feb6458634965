// Names why a run failed in the words an operator acts on: a usage limit waits, an expired login is fixed on the
// host, a timeout or a crash is read in the transcript. A generic "exit code 1" would hide the first two.
import type { AgentOutcome } from './agent-outcome.js';
import type { Agent } from './lane-settings.js';

export type FailureKind = 'usage-limit' | 'auth' | 'timeout' | 'cancelled' | 'exit' | 'reported';

export interface LaneFailure {
  kind: FailureKind;
  message: string;
}

export interface ProcessEnd {
  exitCode: number | null;
  timedOut: boolean;
  cancelled?: boolean;
  /** The last lines of stderr, already scrubbed. */
  stderrTail: string;
}

const USAGE_LIMIT = /usage limit|hit your (?:\w+ )?limit|rate limit reached|usage_limit_reached/i;
const AUTH =
  /failed to authenticate|oauth token has expired|invalid (?:x-)?api[ -]key|please run \/login|not logged in|refresh token has expired|sign in again|log ?in again|401 unauthorized|authentication_error|token_expired/i;

const LOGIN_FIX: Record<Agent, string> = {
  codex: 'codex login expired: refresh on the host (`codex login`), the lane copies ~/.codex from there',
  claude: 'claude login expired: refresh on the host (run `claude` and `/login`), the lane copies ~/.claude from there',
};

export function classifyFailure(
  agent: Agent,
  outcome: AgentOutcome,
  end: ProcessEnd,
  timeoutMinutes: number,
): LaneFailure | undefined {
  if (end.timedOut) {
    return {
      kind: 'timeout',
      message: `${agent} did not finish within ${timeoutMinutes} minutes; its process tree was killed`,
    };
  }
  if (end.cancelled)
    return { kind: 'cancelled', message: `the job was cancelled; ${agent} and its process tree were stopped` };
  // The texts below only name a failure; they do not make one. A run that ended well may still have logged a
  // retried 429 or a "close to your usage limit" notice on stderr.
  if (end.exitCode === 0 && !outcome.reportedError && !outcome.errors.length && !outcome.limited) return undefined;
  const said = [
    ...outcome.errors.map((e) => e.message),
    outcome.reportedError ? outcome.answer : '',
    end.stderrTail,
  ].join('\n');
  if (outcome.limited || outcome.errors.some((e) => e.status === 429) || USAGE_LIMIT.test(said)) {
    return { kind: 'usage-limit', message: `${agent} usage limit reached, ${resetText(outcome, said)}` };
  }
  if (outcome.errors.some((e) => e.status === 401 || e.status === 403) || AUTH.test(said)) {
    return { kind: 'auth', message: LOGIN_FIX[agent] };
  }
  if (end.exitCode !== 0) {
    const reason = outcome.errors.at(-1)?.message ?? lastLine(end.stderrTail) ?? 'no error message';
    return { kind: 'exit', message: `${agent} exited with code ${end.exitCode ?? 'none'}: ${reason}` };
  }
  if (outcome.reportedError || outcome.errors.length) {
    return {
      kind: 'reported',
      message: `${agent} reported an error: ${outcome.errors.at(-1)?.message ?? outcome.answer}`,
    };
  }
  return undefined;
}

function resetText(outcome: AgentOutcome, said: string): string {
  if (outcome.limited?.resetsAt) return `resets at ${new Date(outcome.limited.resetsAt * 1000).toISOString()}`;
  const hint = /(?:resets?|try again at)\s+([^.\n]+)/i.exec(said);
  return hint ? `resets at ${hint[1]!.trim()}` : 'reset time not reported';
}

const lastLine = (text: string) => text.trim().split('\n').filter(Boolean).at(-1);
