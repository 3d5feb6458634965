// Whose login a job's refreshed credential file is, decided by the provider and not by the file. A job holds the
// host's own id_token and can write any identity field, so the fields in the file prove nothing; but only the
// provider can turn a refresh token into tokens, and it says whose they are in its own answer. So the host redeems
// the refresh token the job left (its own request, over its own TLS connection), compares the account in the answer
// with the host's login, and writes back what the provider handed the host, never the job's tokens. A refresh token
// from another account yields that account's answer and is refused; a forged or spent one gets no answer and is
// refused; the host file stays as it was.
import type { Agent } from '../../lane-contract/agents.js';
import type { LoginCheck } from '../../lane-contract/credential-write-back.js';

/** The token endpoints the real CLIs refresh at, and the public client ids they refresh as. */
export const PROVIDERS = {
  codex: { tokenUrl: 'https://auth.openai.com/oauth/token', clientId: 'app_EMoamEEZ73f0CkXaXp7hrann' },
  claude: {
    tokenUrl: 'https://console.anthropic.com/v1/oauth/token',
    clientId: '9d1c250a-e61b-44d9-88ed-5944d1962f5e',
  },
} as const;

export type TokenUrls = Record<Agent, string>;
type Json = Record<string, unknown>;
type Fetch = (
  url: string,
  init: { method: string; headers: Record<string, string>; body: string; signal: AbortSignal },
) => Promise<{ status: number; json(): Promise<unknown> }>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const parse = (text: string): Json => {
  const v = JSON.parse(text) as unknown;
  if (!isObject(v)) throw new Error('not a JSON object');
  return v;
};
/** A JWT's claims, unverified: used only on a token the host itself received from the provider, or its own file. */
function claims(token: unknown): Json {
  const payload = typeof token === 'string' ? token.split('.')[1] : undefined;
  if (!payload) return {};
  try {
    const v = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as unknown;
    return isObject(v) ? v : {};
  } catch {
    return {};
  }
}

/** codex: the ChatGPT account and user an id_token names. */
function codexAccount(idToken: unknown): string | undefined {
  const c = claims(idToken);
  const auth = isObject(c['https://api.openai.com/auth']) ? c['https://api.openai.com/auth'] : {};
  const account = auth.chatgpt_account_id;
  const user = auth.chatgpt_user_id ?? auth.user_id ?? c.sub;
  return typeof account === 'string' && typeof user === 'string' ? `${account}/${user}` : undefined;
}

/**
 * The check for one profile's logins. `claudeAccounts`: each claude auth source's account uuid, from the host's own
 * `.claude.json` (`oauthAccount.accountUuid`, written by the CLI at login on the host); codex's comes from the host
 * file's id_token, which the operator's own login wrote.
 */
export function providerLoginCheck(
  urls: TokenUrls,
  claudeAccount: () => Promise<string | undefined>,
  fetchImpl: Fetch = fetch as unknown as Fetch,
  now: () => Date = () => new Date(),
): LoginCheck {
  const redeem = async (agent: Agent, refreshToken: string): Promise<Json | string> => {
    const body =
      agent === 'codex'
        ? {
            client_id: PROVIDERS.codex.clientId,
            grant_type: 'refresh_token',
            refresh_token: refreshToken,
            scope: 'openid profile email',
          }
        : { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: PROVIDERS.claude.clientId };
    try {
      const res = await fetchImpl(urls[agent], {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
      const answer = await res.json().catch(() => undefined);
      if (res.status !== 200 || !isObject(answer))
        return `the provider (${urls[agent]}) did not redeem the job's refresh token (HTTP ${res.status}${isObject(answer) && typeof answer.error === 'string' ? `: ${answer.error}` : ''})`;
      return answer;
    } catch (err) {
      return `the provider (${urls[agent]}) could not be asked: ${(err as Error).message}`;
    }
  };

  return async (agent, hostText, jobText) => {
    const host = parse(hostText);
    const job = parse(jobText);
    if (agent === 'codex') {
      const hostTokens = isObject(host.tokens) ? host.tokens : undefined;
      const jobTokens = isObject(job.tokens) ? job.tokens : undefined;
      if (!hostTokens || !jobTokens) return { ok: false, detail: 'only a ChatGPT login (tokens) is written back' };
      const want = codexAccount(hostTokens.id_token);
      if (!want) return { ok: false, detail: "the host file's id_token names no ChatGPT account to compare with" };
      const answer = await redeem('codex', String(jobTokens.refresh_token));
      if (typeof answer === 'string') return { ok: false, detail: answer };
      const got = codexAccount(answer.id_token);
      if (got !== want)
        return {
          ok: false,
          detail: `the provider says the job's login is ChatGPT account ${got ?? 'unknown'}, the host's is ${want}`,
        };
      const tokens = {
        ...jobTokens,
        id_token: answer.id_token,
        access_token: answer.access_token,
        refresh_token: answer.refresh_token ?? jobTokens.refresh_token,
      };
      return { ok: true, text: JSON.stringify({ ...job, tokens, last_refresh: now().toISOString() }) };
    }
    const jobOauth = isObject(job.claudeAiOauth) ? job.claudeAiOauth : undefined;
    if (!jobOauth) return { ok: false, detail: 'no claudeAiOauth in the job file' };
    const want = await claudeAccount();
    if (!want)
      return {
        ok: false,
        detail:
          "no account to compare with: the profile's claude auth mount needs claudeJson (the host's .claude.json)",
      };
    const answer = await redeem('claude', String(jobOauth.refreshToken));
    if (typeof answer === 'string') return { ok: false, detail: answer };
    const got = isObject(answer.account) ? answer.account.uuid : undefined;
    if (got !== want)
      return {
        ok: false,
        detail: `the provider says the job's login is account ${String(got ?? 'unknown')}, the host's is ${want}`,
      };
    const oauth = {
      ...jobOauth,
      accessToken: answer.access_token,
      refreshToken: answer.refresh_token ?? jobOauth.refreshToken,
      expiresAt: now().getTime() + Number(answer.expires_in ?? 0) * 1000,
      ...(typeof answer.scope === 'string' ? { scopes: answer.scope.split(' ').filter(Boolean) } : {}),
    };
    return { ok: true, text: JSON.stringify({ ...job, claudeAiOauth: oauth }) };
  };
}

/** The account uuid the host's `.claude.json` names, undefined when there is none. */
export function claudeAccountIn(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  try {
    const v = JSON.parse(text) as unknown;
    const account = isObject(v) && isObject(v.oauthAccount) ? v.oauthAccount.accountUuid : undefined;
    return typeof account === 'string' && account ? account : undefined;
  } catch {
    return undefined;
  }
}
