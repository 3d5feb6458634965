// The Actions service, as the official scale-set client (actions/scaleset) speaks to it: a runner registration token
// from the REST API is traded at `POST {api}/actions/runner-registration` (`RemoteAuth <token>`) for the service's
// URL and an admin JWT, renewed a minute before it expires; scale sets, JIT configs and runner removal go to the
// service with that token and `api-version=6.0-preview`; a session's message queue and job acquisition use the
// session's own queue token. Every call returns or throws ActionsServiceError with the status, so the listener can
// tell an evicted session (404) from a live one elsewhere (409) and an expired queue token (401).
import type { RegistrationToken } from './github-client.js';
import type { RunnerScope } from './runner-scope.js';

const API_VERSION = '6.0-preview';
const SCALE_SETS = '_apis/runtime/runnerscalesets';
const AGENTS = '_apis/distributedtask/pools/0/agents';
/** The official client renews the admin token this long before it expires. */
const RENEW_BEFORE_MS = 60_000;

export class ActionsServiceError extends Error {
  constructor(
    readonly status: number,
    readonly route: string,
    message: string,
  ) {
    super(`${route}: ${status} ${message}`);
  }
}

export interface ScaleSetInfo {
  id: number;
  name: string;
  runnerGroupId: number;
  runnerGroupName?: string;
  labels: Array<{ name: string; type: string }>;
  statistics?: unknown;
}
export interface MessageSession {
  sessionId: string;
  ownerName: string;
  messageQueueUrl: string;
  messageQueueAccessToken: string;
  statistics?: unknown;
}

export interface ActionsServiceOptions {
  /** The REST API's base URL (config.github.apiUrl): api.github.com, or a GHES host's /api/v3. */
  apiUrl: string;
  scope: RunnerScope;
  /** A fresh registration token for the scope (POST .../actions/runners/registration-token). */
  registrationToken: () => Promise<RegistrationToken>;
  fetch?: typeof fetch;
  now?: () => number;
}

/** The web URL GitHub's registration knows the scope by: github.com/owner[/repo] for api.github.com, the host on GHES. */
export function configUrl(apiUrl: string, scope: RunnerScope): string {
  const api = new URL(apiUrl);
  const host = api.host.startsWith('api.') ? api.host.slice(4) : api.host;
  return `${api.protocol}//${host}/${scope.kind === 'repo' ? scope.repo : scope.org}`;
}

export class ActionsService {
  private admin: { url: string; token: string; expiresAt: number } | undefined;
  private readonly fetch: typeof fetch;
  private readonly now: () => number;

  constructor(private readonly opts: ActionsServiceOptions) {
    this.fetch = opts.fetch ?? fetch;
    this.now = opts.now ?? Date.now;
  }

  /** When the admin token in hand expires (0: none yet). */
  get adminTokenExpiresAt(): number {
    return this.admin?.expiresAt ?? 0;
  }

  async getScaleSet(runnerGroupId: number, name: string): Promise<ScaleSetInfo | undefined> {
    const query = `runnerGroupId=${runnerGroupId}&name=${encodeURIComponent(name)}`;
    const list = await this.call<{ count: number; value: ScaleSetInfo[] }>('GET', `${SCALE_SETS}?${query}`, 200);
    if (list.count > 1) throw new ActionsServiceError(200, 'GET runnerscalesets', `several scale sets named ${name}`);
    return list.value[0];
  }

  getScaleSetById(id: number): Promise<ScaleSetInfo> {
    return this.call('GET', `${SCALE_SETS}/${id}`, 200);
  }

  createScaleSet(body: { name: string; runnerGroupId: number; labels: string[] }): Promise<ScaleSetInfo> {
    const labels = body.labels.map((name) => ({ name, type: 'System' }));
    return this.call('POST', SCALE_SETS, 200, { name: body.name, runnerGroupId: body.runnerGroupId, labels });
  }

  deleteScaleSet(id: number): Promise<void> {
    return this.call('DELETE', `${SCALE_SETS}/${id}`, 204);
  }

  async runnerGroupId(name: string): Promise<number> {
    const list = await this.call<{ count: number; value: Array<{ id: number }> }>(
      'GET',
      `_apis/runtime/runnergroups/?groupName=${encodeURIComponent(name)}`,
      200,
    );
    if (list.count !== 1) throw new ActionsServiceError(404, 'GET runnergroups', `no runner group named ${name}`);
    return list.value[0]!.id;
  }

  async generateJitConfig(scaleSetId: number, name: string, workFolder: string) {
    const body = await this.call<{ runner: { id: number }; encodedJITConfig: string }>(
      'POST',
      `${SCALE_SETS}/${scaleSetId}/generatejitconfig`,
      200,
      { name, workFolder },
    );
    return { runnerId: body.runner.id, encodedJitConfig: body.encodedJITConfig };
  }

  /** 'gone' when the service no longer knows the runner; other failures throw. */
  async removeRunner(runnerId: number): Promise<'deleted' | 'gone'> {
    try {
      await this.call('DELETE', `${AGENTS}/${runnerId}`, 204);
      return 'deleted';
    } catch (err) {
      if (err instanceof ActionsServiceError && err.status === 404) return 'gone';
      throw err;
    }
  }

  createSession(scaleSetId: number, ownerName: string): Promise<MessageSession> {
    return this.call('POST', `${SCALE_SETS}/${scaleSetId}/sessions`, 200, { ownerName });
  }

  /** A new queue token for the session (the official client refreshes on a queue 401). */
  refreshSession(scaleSetId: number, sessionId: string): Promise<MessageSession> {
    return this.call('PATCH', `${SCALE_SETS}/${scaleSetId}/sessions/${sessionId}`, 200);
  }

  deleteSession(scaleSetId: number, sessionId: string): Promise<void> {
    return this.call('DELETE', `${SCALE_SETS}/${scaleSetId}/sessions/${sessionId}`, 204);
  }

  /** The long poll: the next message after `lastMessageId`, or undefined when the service had none (202). */
  async getMessage(
    session: MessageSession,
    lastMessageId: number,
    maxCapacity: number,
    signal?: AbortSignal,
  ): Promise<unknown> {
    const url = new URL(session.messageQueueUrl);
    if (lastMessageId > 0) url.searchParams.set('lastMessageId', String(lastMessageId));
    const res = await this.fetch(url, {
      headers: {
        accept: `application/json; api-version=${API_VERSION}`,
        authorization: `Bearer ${session.messageQueueAccessToken}`,
        'x-scalesetmaxcapacity': String(maxCapacity),
      },
      ...(signal ? { signal } : {}),
    });
    const text = await res.text();
    if (res.status === 202) return undefined;
    if (res.status !== 200) throw new ActionsServiceError(res.status, 'GET message', text.slice(0, 200));
    return JSON.parse(text.replace(/^\uFEFF/, ''));
  }

  async deleteMessage(session: MessageSession, messageId: number): Promise<void> {
    const url = new URL(session.messageQueueUrl);
    url.pathname = `${url.pathname}/${messageId}`;
    const res = await this.fetch(url, {
      method: 'DELETE',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${session.messageQueueAccessToken}` },
    });
    const text = await res.text();
    if (res.status !== 204) throw new ActionsServiceError(res.status, 'DELETE message', text.slice(0, 200));
  }

  /** The runner requests the scale set got; the others went to another listener or were withdrawn. */
  async acquireJobs(scaleSetId: number, session: MessageSession, requestIds: number[]): Promise<number[]> {
    const body = await this.call<{ value: number[] }>(
      'POST',
      `${SCALE_SETS}/${scaleSetId}/acquirejobs`,
      200,
      requestIds,
      session.messageQueueAccessToken,
    );
    return body.value ?? [];
  }

  /** One request to the service; an admin-token 401 renews the token once and tries again. */
  private async call<T>(
    method: string,
    path: string,
    expected: number,
    body?: unknown,
    bearer?: string,
    renewed = false,
  ): Promise<T> {
    const admin = await this.adminConnection(renewed);
    const url = new URL(path, admin.url.endsWith('/') ? admin.url : `${admin.url}/`);
    if (!url.searchParams.has('api-version')) url.searchParams.set('api-version', API_VERSION);
    const res = await this.fetch(url, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer ?? admin.token}` },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (res.status === 401 && !bearer && !renewed) return this.call(method, path, expected, body, bearer, true);
    const route = `${method} ${path.split('?')[0]!.replace(/\/\d+|\/[0-9a-f-]{36}/g, '/{id}')}`;
    if (res.status !== expected) throw new ActionsServiceError(res.status, route, text.slice(0, 200));
    return (text ? JSON.parse(text.replace(/^\uFEFF/, '')) : undefined) as T;
  }

  /** The service URL and admin token, traded for a fresh registration token when none is held or it nears expiry. */
  private async adminConnection(force: boolean) {
    if (!force && this.admin && this.admin.expiresAt - RENEW_BEFORE_MS > this.now()) return this.admin;
    const { token } = await this.opts.registrationToken();
    const res = await this.fetch(`${this.opts.apiUrl}/actions/runner-registration`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `RemoteAuth ${token}` },
      body: JSON.stringify({ url: configUrl(this.opts.apiUrl, this.opts.scope), runner_event: 'register' }),
    });
    const text = await res.text();
    if (res.status < 200 || res.status > 299)
      throw new ActionsServiceError(res.status, 'POST actions/runner-registration', text.slice(0, 200));
    const answer = JSON.parse(text) as { url?: string; token?: string };
    if (!answer.url || !answer.token)
      throw new ActionsServiceError(res.status, 'POST actions/runner-registration', 'answer lacks url or token');
    this.admin = { url: answer.url, token: answer.token, expiresAt: jwtExpiry(answer.token) };
    return this.admin;
  }
}

/** The `exp` of a JWT, read without verifying it (the service verifies; the client only needs to know when to renew). */
export function jwtExpiry(jwt: string): number {
  const payload = jwt.split('.')[1];
  if (!payload) throw new Error('admin token is not a JWT');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: number };
  if (typeof claims.exp !== 'number') throw new Error('admin token has no expiry');
  return claims.exp * 1000;
}
