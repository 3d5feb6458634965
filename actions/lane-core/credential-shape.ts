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

export function isCredentialShape(agent: Agent, text: string): boolean {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return false;
  }
  return agent === 'codex' ? isCodexAuth(parsed) : isClaudeCredentials(parsed);
}
