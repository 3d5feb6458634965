// The one refresher of a host login. Only the host ever redeems a refresh token: the job holds a placeholder, so no
// job can refresh, strand the others or write another account's tokens back. A refresh happens under the lane
// contract's lock on the host file, the one copy-mode write-backs and other controllers take, and re-reads the file
// inside it: a login that someone else refreshed meanwhile is used, not refreshed twice (providers refuse a refresh
// token the second time, rotating it on first use).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Agent } from '../../lane-contract/agents.js';
import { replaceFileAtomically } from '../../lane-contract/atomic-file.js';
import { CLAUDE_JSON } from '../../lane-contract/auth-files.js';
import { withFileLock } from '../../lane-contract/file-lock.js';
import { hostLogin, type HostLogin } from '../lanes/host-login.js';
import { PROVIDERS } from '../lanes/login-check.js';

/** A login on the host: an auth mount's folder (and claude's `.claude.json`). */
export interface LoginSource {
  agent: Agent;
  source: string;
  claudeJson?: string | undefined;
}

export interface TokenUrls {
  codex: string;
  claude: string;
}

type Fetch = typeof fetch;
type Json = Record<string, unknown>;
/** Refreshed this long before it expires, so no request leaves with a token about to lapse. */
const MARGIN_MS = 5 * 60_000;

const credentialFile = (l: LoginSource) => join(l.source, l.agent === 'claude' ? '.credentials.json' : 'auth.json');

export class LoginRefresher {
  /** How many times this process redeemed the refresh token (for the tests and the log). */
  refreshes = 0;

  constructor(
    private readonly login: LoginSource,
    private readonly urls: TokenUrls,
    private readonly deps: { fetch?: Fetch; now?: () => number } = {},
  ) {}

  private now = () => (this.deps.now ?? Date.now)();

  /** The login as the host file has it now, refreshed first when it is about to expire. */
  async current(): Promise<HostLogin> {
    const login = await this.read();
    if (!this.expiring(login)) return login;
    return this.refresh(login.secret);
  }

  /** The provider refused `used`: refresh, unless the host file already holds another token. */
  async rejected(used: string): Promise<HostLogin> {
    return this.refresh(used);
  }

  private expiring(login: HostLogin): boolean {
    return (
      login.refreshToken !== undefined && login.expiresAt !== undefined && login.expiresAt - this.now() < MARGIN_MS
    );
  }

  private async read(): Promise<HostLogin> {
    const text = await readFile(credentialFile(this.login), 'utf8').catch(() => undefined);
    const claudeJson = this.login.claudeJson ?? join(this.login.source, CLAUDE_JSON);
    const state = this.login.agent === 'claude' ? await readFile(claudeJson, 'utf8').catch(() => undefined) : undefined;
    const login = hostLogin(this.login.agent, text, state);
    if ('error' in login) throw new Error(`${this.login.source}: ${login.error}`);
    return login;
  }

  private async refresh(stale: string): Promise<HostLogin> {
    const file = credentialFile(this.login);
    return withFileLock(file, async () => {
      const login = await this.read();
      // Someone refreshed while this waited: theirs is the login now.
      if (login.secret !== stale && !this.expiring(login)) return login;
      if (!login.refreshToken) return login; // an API key: nothing to refresh
      const answer = await this.redeem(login.refreshToken);
      this.refreshes += 1;
      const text = merged(this.login.agent, await readFile(file, 'utf8'), answer, this.now());
      await replaceFileAtomically(file, text);
      return this.read();
    });
  }

  private async redeem(refreshToken: string): Promise<Json> {
    const agent = this.login.agent;
    const body =
      agent === 'codex'
        ? {
            client_id: PROVIDERS.codex.clientId,
            grant_type: 'refresh_token',
            refresh_token: refreshToken,
            scope: 'openid profile email',
          }
        : { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: PROVIDERS.claude.clientId };
    const res = await (this.deps.fetch ?? fetch)(this.urls[agent], {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    const answer = (await res.json().catch(() => undefined)) as Json | undefined;
    if (res.status !== 200 || !answer || typeof answer.access_token !== 'string')
      throw new Error(
        `${this.login.source}: the provider (${this.urls[agent]}) refused the host's refresh (HTTP ${res.status}${typeof answer?.error === 'string' ? `: ${answer.error}` : ''}); log in to ${agent} on the host again`,
      );
    return answer;
  }
}

/** The host file with the provider's new tokens in it, every other field as the CLI left it. */
function merged(agent: Agent, hostText: string, answer: Json, now: number): string {
  const host = JSON.parse(hostText) as Json;
  if (agent === 'claude') {
    const oauth = (host.claudeAiOauth ?? {}) as Json;
    return JSON.stringify({
      ...host,
      claudeAiOauth: {
        ...oauth,
        accessToken: answer.access_token,
        refreshToken: answer.refresh_token ?? oauth.refreshToken,
        expiresAt: now + Number(answer.expires_in ?? 3600) * 1000,
        ...(typeof answer.scope === 'string' ? { scopes: answer.scope.split(' ').filter(Boolean) } : {}),
      },
    });
  }
  const tokens = (host.tokens ?? {}) as Json;
  return JSON.stringify({
    ...host,
    tokens: {
      ...tokens,
      access_token: answer.access_token,
      refresh_token: answer.refresh_token ?? tokens.refresh_token,
      ...(typeof answer.id_token === 'string' ? { id_token: answer.id_token } : {}),
    },
    last_refresh: new Date(now).toISOString(),
  });
}

/** One refresher per login in this process, whichever jobs use it. */
export class LoginRefreshers {
  private readonly byFile = new Map<string, LoginRefresher>();

  constructor(
    private readonly urls: TokenUrls,
    private readonly deps: { fetch?: Fetch; now?: () => number } = {},
  ) {}

  for(login: LoginSource): LoginRefresher {
    const key = credentialFile(login);
    let r = this.byFile.get(key);
    if (!r) this.byFile.set(key, (r = new LoginRefresher(login, this.urls, this.deps)));
    return r;
  }
}
