// What a credential file must look like before it may go back to the host, and whose login it is. A CLI that
// crashed halfway, or a prompt-injected agent that scribbled over its auth file or wrote another account's login
// into it, must not destroy or redirect the login every later job depends on.
import type { Agent } from './agents.js';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isText = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** codex `auth.json`: ChatGPT tokens, or an API key. */
function isCodexAuth(v: unknown): boolean {
  if (!isObject(v)) return false;
  if (isText(v.OPENAI_API_KEY)) return true;
  const t = v.tokens;
  return isObject(t) && isText(t.access_token) && isText(t.refresh_token) && isText(t.id_token);
}

/** claude `.credentials.json`: the subscription OAuth pair. */
function isClaudeCredentials(v: unknown): boolean {
  if (!isObject(v) || !isObject(v.claudeAiOauth)) return false;
  const o = v.claudeAiOauth;
  return isText(o.accessToken) && isText(o.refreshToken);
}

const parse = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

export function isCredentialShape(agent: Agent, text: string): boolean {
  const parsed = parse(text);
  return agent === 'codex' ? isCodexAuth(parsed) : isClaudeCredentials(parsed);
}

/** The claims of a JWT's payload, unverified: the CLI stores them as its server sent them, and only equality matters. */
function jwtClaims(token: unknown): Json | undefined {
  if (typeof token !== 'string') return undefined;
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  const claims = parse(Buffer.from(payload, 'base64url').toString('utf8'));
  return isObject(claims) ? claims : undefined;
}

/** The identity fields codex keeps for a ChatGPT login: the `id_token` claims that a refresh carries over (user,
 * email, account, plan), and the account id beside the tokens. */
function codexIdentity(v: Json): unknown {
  if (!isObject(v.tokens)) return { apiKey: v.OPENAI_API_KEY ?? null };
  const claims = jwtClaims(v.tokens.id_token);
  const auth = claims && isObject(claims['https://api.openai.com/auth']) ? claims['https://api.openai.com/auth'] : {};
  return {
    accountId: v.tokens.account_id ?? auth.chatgpt_account_id ?? null,
    // An id_token that is no JWT at all (older files, test fixtures) names no one; two of them compare equal.
    jwt: claims !== undefined,
    sub: claims?.sub ?? null,
    email: claims?.email ?? null,
    chatgptAccount: auth.chatgpt_account_id ?? null,
    chatgptUser: auth.chatgpt_user_id ?? auth.user_id ?? null,
    plan: auth.chatgpt_plan_type ?? null,
  };
}

/** The identity fields claude keeps: its file names no account, so the subscription and the granted scopes are
 * what tells one login from another. */
function claudeIdentity(v: Json): unknown {
  const o = isObject(v.claudeAiOauth) ? v.claudeAiOauth : {};
  const scopes = Array.isArray(o.scopes) ? [...o.scopes].map(String).sort() : null;
  return { subscription: o.subscriptionType ?? null, scopes };
}

function identityOf(agent: Agent, text: string): string | undefined {
  const v = parse(text);
  if (!isObject(v)) return undefined;
  return JSON.stringify(agent === 'codex' ? codexIdentity(v) : claudeIdentity(v));
}

/**
 * Whether `after` is the same login as `before`, refreshed. A refresh rotates tokens; it does not turn a ChatGPT
 * login into an API key, move it to another account or user, or change a claude subscription or its scopes.
 */
export function isRefreshOf(agent: Agent, before: string, after: string): boolean {
  const a = identityOf(agent, before);
  return a !== undefined && a === identityOf(agent, after);
}

/** The fields a refresh changes; everything else in the host file (other keys the CLI or the operator keep) stays. */
const REFRESHED: Record<Agent, readonly string[]> = {
  codex: ['tokens', 'last_refresh'],
  claude: ['claudeAiOauth'],
};

/** The host file with the refreshed fields of the job's copy merged in, never replaced by the job's whole file. */
export function mergeRefresh(agent: Agent, host: string, refreshed: string): string {
  const base = parse(host);
  const next = parse(refreshed);
  const merged: Json = isObject(base) ? { ...base } : {};
  if (isObject(next)) for (const key of REFRESHED[agent]) if (key in next) merged[key] = next[key];
  return `${JSON.stringify(merged, null, 2)}\n`;
}
