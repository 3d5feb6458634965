// Which kind of login a host's auth folder holds, read off the files the CLIs write: claude's subscription OAuth
// (`.credentials.json` claudeAiOauth) or its console API key (`primaryApiKey` in `.claude.json`); codex's ChatGPT
// login (`auth.json` tokens) or its API key (`auth.json` OPENAI_API_KEY). Pure: the broker and the release both ask.
import type { Agent } from '../../lane-contract/agents.js';

export type LoginKind = 'claude-oauth' | 'claude-api-key' | 'codex-chatgpt' | 'codex-api-key';

/** A login as the broker uses it: the secret it sends upstream and, for OAuth logins, what refreshes it. */
export interface HostLogin {
  kind: LoginKind;
  /** The access token or API key sent to the provider. */
  secret: string;
  /** OAuth logins only. */
  refreshToken?: string;
  /** Epoch ms after which the access token is refused; undefined when unknown (API keys never expire here). */
  expiresAt?: number;
  /** codex ChatGPT: the account the backend wants named beside the token. */
  accountId?: string;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);
const parse = (t: string | undefined): Json => {
  if (t === undefined) return {};
  try {
    const v = JSON.parse(t) as unknown;
    return isObject(v) ? v : {};
  } catch {
    return {};
  }
};

/** A JWT's claims, unverified: read only off the host's own file. */
export function jwtClaims(token: unknown): Json {
  const payload = typeof token === 'string' ? token.split('.')[1] : undefined;
  if (!payload) return {};
  return parse(Buffer.from(payload, 'base64url').toString('utf8'));
}

/**
 * The login in an agent's host files, or why there is none. `credentials`: claude's `.credentials.json` or codex's
 * `auth.json`; `claudeJson`: claude's `.claude.json`. A subscription login wins over an API key, as the CLIs choose.
 */
export function hostLogin(
  agent: Agent,
  credentials: string | undefined,
  claudeJson?: string,
): HostLogin | { error: string } {
  const file = parse(credentials);
  if (agent === 'claude') {
    const o = isObject(file.claudeAiOauth) ? file.claudeAiOauth : undefined;
    const access = text(o?.accessToken);
    if (o && access) {
      const expiresAt = typeof o.expiresAt === 'number' ? o.expiresAt : undefined;
      return { kind: 'claude-oauth', secret: access, refreshToken: text(o.refreshToken), expiresAt };
    }
    const key = text(parse(claudeJson).primaryApiKey);
    if (key) return { kind: 'claude-api-key', secret: key };
    return { error: 'no claude login: neither claudeAiOauth in .credentials.json nor primaryApiKey in .claude.json' };
  }
  const tokens = isObject(file.tokens) ? file.tokens : undefined;
  const access = text(tokens?.access_token);
  if (tokens && access) {
    const exp = jwtClaims(access).exp;
    const auth = jwtClaims(tokens.id_token)['https://api.openai.com/auth'];
    const accountId = text(tokens.account_id) ?? text(isObject(auth) ? auth.chatgpt_account_id : undefined);
    return {
      kind: 'codex-chatgpt',
      secret: access,
      refreshToken: text(tokens.refresh_token),
      expiresAt: typeof exp === 'number' ? exp * 1000 : undefined,
      accountId,
    };
  }
  const key = text(file.OPENAI_API_KEY);
  if (key) return { kind: 'codex-api-key', secret: key };
  return { error: 'no codex login: neither tokens nor OPENAI_API_KEY in auth.json' };
}
