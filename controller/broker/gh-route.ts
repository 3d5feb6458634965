// What the gh broker does with one request from the job's gh, decided whole before anything is sent: refused (another
// job's or a made-up placeholder, a host other than GitHub's API, a request that is not origin-form) or forwarded to
// the API's upstream, with the host's gh token in place of the job's placeholder. gh dials the broker's unix socket
// for every host and speaks plain HTTP there, so the Host header alone says which API it meant. A token of the job's
// own (GH_TOKEN from the workflow, the lane action's agent-github-token) makes gh send that instead: it passes as it
// is, with nothing of the host's added, as it would have gone out through the job's network. Pure: gh-broker.ts
// carries it out.
import type { IncomingHttpHeaders } from 'node:http';
import { droppedHeaders, passedHeaders, PLACEHOLDER_PREFIX, sameText } from './broker-route.js';

/** Where gh's two API hosts are forwarded; GitHub's own unless a test or a proxy says. */
export interface GhUpstreams {
  githubApiUrl: string;
  githubUploadsUrl: string;
}

export type GhRoute =
  | { kind: 'refuse'; status: number; message: string }
  /** `hostToken`: the job's placeholder came, so the host's token goes in its place; else the request's own passes. */
  | { kind: 'forward'; target: string; hostToken: boolean };

/** The token gh presents: `Authorization: token X` (gh's own form) or a bearer. */
export function ghPresented(headers: IncomingHttpHeaders): string | undefined {
  return /^(?:token|bearer)\s+(\S+)$/i.exec(headers.authorization ?? '')?.[1];
}

export function routeGh(
  req: { url: string; headers: IncomingHttpHeaders },
  job: { token: string },
  up: GhUpstreams,
): GhRoute {
  // The placeholder first: a caller with another job's learns nothing.
  const token = ghPresented(req.headers);
  const hostToken = token !== undefined && sameText(token, job.token);
  if (!hostToken && token?.startsWith(PLACEHOLDER_PREFIX))
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
  return { kind: 'forward', target: `${base.replace(/\/+$/, '')}${req.url}`, hostToken };
}

const HOP = droppedHeaders();

/**
 * The headers sent upstream: gh's, less hop-by-hop ones, with the host's gh token in place of the placeholder, or,
 * with no `hostToken`, the request's own Authorization as it came.
 */
export function ghUpstreamHeaders(headers: IncomingHttpHeaders, hostToken: string | undefined): Record<string, string> {
  const out = passedHeaders(headers, HOP);
  if (hostToken !== undefined) out.authorization = `token ${hostToken}`;
  else if (headers.authorization) out.authorization = headers.authorization;
  return out;
}
