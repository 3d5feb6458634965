// Whether the lane's login can work at all, read from the private home's copy before the CLI starts: a run that
// would only learn from the model API that its login is gone spends the job's minutes to learn it. What a CLI
// refreshes by itself (an access token past its time, with a refresh token beside it) is not a problem here.
import type { Agent } from './lane-settings.js';

/** Variables that log a CLI in without its credential file. */
const API_KEYS: Record<Agent, string[]> = {
  claude: ['ANTHROPIC_API_KEY', 'CLAUDE_CODE_OAUTH_TOKEN'],
  codex: ['OPENAI_API_KEY', 'CODEX_API_KEY'],
};

const FIX: Record<Agent, string> = {
  claude: 'sign in again on the host (run `claude` and `/login`); the lane copies ~/.claude from there',
  codex: 'sign in again on the host (`codex login`); the lane copies ~/.codex from there',
};

/** Undefined when the login looks usable; otherwise what is wrong, naming the file and the fix. */
export function loginProblem(
  agent: Agent,
  credential: { path: string; text?: string },
  env: Record<string, string | undefined>,
  now: number,
): string | undefined {
  if (API_KEYS[agent].some((k) => env[k]?.trim())) return undefined;
  if (credential.text === undefined) return `no ${agent} credential file at ${credential.path}; ${FIX[agent]}`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(credential.text);
  } catch {
    return `the ${agent} credential file ${credential.path} is not JSON; ${FIX[agent]}`;
  }
  const problem = agent === 'claude' ? claudeProblem(parsed, now) : codexProblem(parsed);
  return problem && `the ${agent} login in ${credential.path} ${problem}; ${FIX[agent]}`;
}

const record = (v: unknown): Record<string, unknown> =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
const text = (v: unknown) => typeof v === 'string' && v.trim() !== '';

function claudeProblem(file: unknown, now: number): string | undefined {
  const oauth = record(record(file).claudeAiOauth);
  if (!text(oauth.accessToken)) return 'holds no claudeAiOauth.accessToken';
  const expiresAt = typeof oauth.expiresAt === 'number' ? oauth.expiresAt : undefined;
  if (expiresAt !== undefined && expiresAt <= now && !text(oauth.refreshToken))
    return `expired at ${new Date(expiresAt).toISOString()} and holds no refresh token`;
  return undefined;
}

function codexProblem(file: unknown): string | undefined {
  const auth = record(file);
  if (text(auth.OPENAI_API_KEY)) return undefined;
  const tokens = record(auth.tokens);
  if (text(tokens.refresh_token) || text(tokens.access_token)) return undefined;
  return 'holds neither an API key nor tokens';
}
