// What a credential file must look like before it may replace the host's copy: a CLI that crashed halfway, or a
// prompt-injected agent that scribbled over its auth file, must not destroy the login every later job depends on.
import type { Agent } from './lane-settings.js';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isText = (v: unknown) => typeof v === 'string' && v.length > 0;

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

/** The login a file belongs to, as far as the file says: what a token refresh keeps and a swap changes. Claude's
 * file names no account, so any claude credentials pass. */
function loginOf(agent: Agent, v: unknown): string {
  if (agent === 'claude' || !isObject(v)) return agent;
  if (!isObject(v.tokens)) return `api-key:${String(v.OPENAI_API_KEY ?? '')}`;
  return `chatgpt:${String(v.tokens.account_id ?? '')}`;
}

/**
 * Whether `after` is the same login as `before`, refreshed. A codex refresh rotates tokens; it does not turn a
 * ChatGPT login into an API key or move it to another account. An agent that wrote its own account's
 * credentials into the file would otherwise have every later job on the lane sent to that account.
 */
export function isRefreshOf(agent: Agent, before: string, after: string): boolean {
  return loginOf(agent, parse(before)) === loginOf(agent, parse(after));
}
