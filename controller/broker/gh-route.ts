// What the gh broker does with one request from the job's gh, decided whole before anything is sent: refused (wrong
// placeholder, a host other than GitHub's API, a request that is not origin-form) or forwarded to the API's upstream
// with the host's gh token in place of the placeholder. gh dials the broker's unix socket for every host and speaks
// plain HTTP there, so the Host header alone says which API it meant. Pure: gh-broker.ts carries it out.
import type { IncomingHttpHeaders } from 'node:http';
import { passedHeaders, sameText } from './broker-route.js';

/** Where gh's two API hosts are forwarded; GitHub's own unless a test or a proxy says. */
export interface GhUpstreams {
  githubApiUrl: string;
  githubUploadsUrl: string;
}

export type GhRoute = { kind: 'refuse'; status: number; message: string } | { kind: 'forward'; target: string };

/** The token gh presents: `Authorization: token X` (gh's own form) or a bearer. */
export function ghPresented(headers: IncomingHttpHeaders): string | undefined {
  return /^(?:token|bearer)\s+(\S+)$/i.exec(headers.authorization ?? '')?.[1];
}

export function routeGh(
  req: { url: string; headers: IncomingHttpHeaders },
  job: { token: string },
  up: GhUpstreams,
): GhRoute {
  // The placeholder first: a caller without it learns nothing.
  const token = ghPresented(req.headers);
  if (!token || !sameText(token, job.token))
    return { kind: 'refuse', status: 401, message: 'broker: unknown placeholder' };
  const host = (req.headers.host ?? '').toLowerCase().replace(/:443$/, '');
  const base = host === 'api.github.com' ? up.githubApiUrl : host === 'uploads.github.com' ? up.githubUploadsUrl : '';
  if (!base)
    return {
      kind: 'refuse',
      status: 403,
      message: `broker: gh is brokered for api.github.com and uploads.github.com only, not ${host || 'a request without a Host'}`,
    };
  if (!req.url.startsWith('/'))
    return { kind: 'refuse', status: 400, message: 'broker: expected an origin-form request' };
  const path = req.url.split('?')[0] ?? '';
  // The upstream's host is fixed either way; this keeps a request within the upstream's own path too.
  if (path.split('/').some((seg) => /^(\.|%2e){1,2}$/i.test(seg)))
    return { kind: 'refuse', status: 400, message: 'broker: path leaves the API' };
  return { kind: 'forward', target: `${base.replace(/\/+$/, '')}${req.url}` };
}

const HOP = new Set([
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
]);

/** The headers sent upstream: gh's, less hop-by-hop ones and the placeholder, plus the host's gh token. */
export function ghUpstreamHeaders(headers: IncomingHttpHeaders, token: string): Record<string, string> {
  const out = passedHeaders(headers, HOP);
  out.authorization = `token ${token}`;
  return out;
}
