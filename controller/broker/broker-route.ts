// What the broker does with one request, decided whole before anything is sent: refused (wrong or missing
// placeholder, a path no CLI needs, a model the profile does not allow) or forwarded to the provider, with the
// headers the host's login needs. Pure: the server (model-broker.ts) carries it out.
import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Agent } from '../../lane-contract/agents.js';
import type { HostLogin } from '../lanes/host-login.js';

export interface Upstreams {
  anthropicUrl: string;
  openaiUrl: string;
  chatgptUrl: string;
}

export interface BrokerRequest {
  method: string;
  /** Path and query, as the CLI sent them. */
  url: string;
  headers: IncomingHttpHeaders;
  /** The request's JSON body, when it has one. */
  body: unknown;
}

export type Route =
  { kind: 'refuse'; status: number; message: string } | { kind: 'forward'; agent: Agent; path: string };

/** The paths the CLIs use for the model: claude's Messages API, codex's Responses API and its model list. */
const PATHS: Array<{ agent: Agent; method: string; pattern: RegExp }> = [
  { agent: 'claude', method: 'POST', pattern: /^\/v1\/messages(\/count_tokens)?$/ },
  { agent: 'codex', method: 'POST', pattern: /^\/codex\/responses$/ },
  { agent: 'codex', method: 'GET', pattern: /^\/codex\/models$/ },
];

/** How every placeholder a broker hands out begins, so a broker knows one that is not its job's. */
export const PLACEHOLDER_PREFIX = 'factory-broker-';

export const sameText = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/** The placeholder a CLI presents: a bearer token (subscription logins, codex) or claude's x-api-key. */
export function presented(headers: IncomingHttpHeaders): string | undefined {
  const bearer = /^Bearer\s+(\S+)$/i.exec(headers.authorization ?? '')?.[1];
  const key = headers['x-api-key'];
  return bearer ?? (typeof key === 'string' ? key : undefined);
}

/** Whether a model name is on the profile's list (a trailing * matches any rest); an empty list allows every one. */
export function modelAllowed(model: string, allowed: readonly string[]): boolean {
  if (allowed.length === 0) return true;
  return allowed.some((a) => (a.endsWith('*') ? model.startsWith(a.slice(0, -1)) : model === a));
}

export function routeRequest(
  req: BrokerRequest,
  job: { token: string; agents: ReadonlySet<Agent>; models: readonly string[] },
): Route {
  // The placeholder first: a caller without it learns nothing, not even which paths exist.
  const token = presented(req.headers);
  if (!token || !sameText(token, job.token)) return { kind: 'refuse', status: 401, message: 'unknown placeholder' };
  const path = req.url.split('?')[0] ?? '';
  const known = PATHS.find((p) => p.method === req.method && p.pattern.test(path) && job.agents.has(p.agent));
  if (!known) return { kind: 'refuse', status: 404, message: 'not brokered' };
  const model = (req.body as { model?: unknown } | undefined)?.model;
  if (req.method === 'POST' && (typeof model !== 'string' || !modelAllowed(model, job.models)))
    return { kind: 'refuse', status: 403, message: `model ${String(model)} is not allowed on this lane` };
  return { kind: 'forward', agent: known.agent, path: req.url };
}

/** The provider's address for a forwarded path, by the kind of the host's login. */
export function upstreamUrl(route: Extract<Route, { kind: 'forward' }>, login: HostLogin, up: Upstreams): string {
  if (route.agent === 'claude') return join(up.anthropicUrl, route.path);
  const rest = route.path.replace(/^\/codex/, '');
  return join(login.kind === 'codex-chatgpt' ? up.chatgptUrl : up.openaiUrl, rest);
}

const join = (base: string, path: string) => `${base.replace(/\/+$/, '')}${path}`;

/**
 * The request headers no forward passes on: the connection's own (hop-by-hop), the host it was sent to and the
 * client's credential, which the broker replaces; `more` names a route's other ones.
 */
export const droppedHeaders = (...more: string[]): ReadonlySet<string> =>
  new Set([
    'connection',
    'keep-alive',
    'proxy-connection',
    'proxy-authorization',
    'transfer-encoding',
    'upgrade',
    'te',
    'trailer',
    'host',
    'authorization',
    ...more,
  ]);
// The body is held in full and sent with its own length; codex's account header is the host login's to name.
const HOP = droppedHeaders('content-length', 'x-api-key', 'chatgpt-account-id');
const OAUTH_BETA = 'oauth-2025-04-20';

/** A client's request headers less `drop` (hop-by-hop ones, credentials), each one line: what goes upstream. */
export function passedHeaders(headers: IncomingHttpHeaders, drop: ReadonlySet<string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (drop.has(name) || value === undefined) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

const RESPONSE_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'trailer', 'upgrade']);
/** An upstream answer's headers as the broker passes them back: all but the connection's own. */
export function responseHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !RESPONSE_HOP.has(k)) out[k] = v;
  return out;
}

/** The headers sent upstream: the CLI's, less hop-by-hop and every credential, plus the host login's. */
export function upstreamHeaders(headers: IncomingHttpHeaders, login: HostLogin): Record<string, string> {
  const out = passedHeaders(headers, HOP);
  if (login.kind === 'claude-api-key') {
    out['x-api-key'] = login.secret;
    // claude believes it holds a subscription login; an API key is no OAuth session.
    const betas = (out['anthropic-beta'] ?? '').split(',').map((b) => b.trim());
    const kept = betas.filter((b) => b && b !== OAUTH_BETA);
    if (kept.length) out['anthropic-beta'] = kept.join(',');
    else delete out['anthropic-beta'];
  } else out.authorization = `Bearer ${login.secret}`;
  if (login.kind === 'codex-chatgpt' && login.accountId) out['chatgpt-account-id'] = login.accountId;
  return out;
}
