// What the broker does with a request for one of the job's MCP servers (`/mcp/<name>/...`), decided whole before
// anything is sent: refused (wrong placeholder, a server the profile does not broker, a path that climbs out of the
// server's) or forwarded to that server's configured url alone, with the host's token in place of the placeholder.
// Pure: mcp-forward.ts carries it out.
import type { IncomingHttpHeaders } from 'node:http';
import type { BrokeredMcp } from '../lanes/mcp-render.js';
import { droppedHeaders, passedHeaders, presented, sameText } from './broker-route.js';

/** The path prefix under which a job's broker serves its MCP servers. */
export const MCP_PREFIX = '/mcp/';

export type McpRoute =
  { kind: 'refuse'; status: number; message: string } | { kind: 'forward'; server: BrokeredMcp; target: string };

export function routeMcp(
  req: { url: string; headers: IncomingHttpHeaders },
  job: { token: string; servers: readonly BrokeredMcp[] },
): McpRoute {
  const token = presented(req.headers);
  if (!token || !sameText(token, job.token)) return { kind: 'refuse', status: 401, message: 'unknown placeholder' };
  const [path = '', query] = splitOnce(req.url, '?');
  if (!path.startsWith(MCP_PREFIX)) return { kind: 'refuse', status: 404, message: 'not brokered' };
  const [name = '', ...rest] = path.slice(MCP_PREFIX.length).split('/');
  const server = job.servers.find((s) => s.name === name);
  if (!server) return { kind: 'refuse', status: 404, message: 'not brokered' };
  // The upstream's host is fixed either way; this keeps a job within the server's own path too.
  if (rest.some((seg) => /^(\.|%2e){1,2}$/i.test(seg) || /%2f|%5c|\\/i.test(seg)))
    return { kind: 'refuse', status: 400, message: 'path leaves the server' };
  const target = new URL(server.url);
  if (rest.length > 0) target.pathname = `${target.pathname.replace(/\/+$/, '')}/${rest.join('/')}`;
  if (query) target.search = target.search ? `${target.search}&${query}` : `?${query}`;
  return { kind: 'forward', server, target: target.toString() };
}

const splitOnce = (s: string, sep: string): [string, string | undefined] => {
  const i = s.indexOf(sep);
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
};

const HOP = droppedHeaders('x-api-key');

/** The headers sent upstream: the client's, less hop-by-hop ones and the placeholder, plus the host's token. */
export function mcpUpstreamHeaders(headers: IncomingHttpHeaders, token: string): Record<string, string> {
  const out = passedHeaders(headers, HOP);
  out.authorization = `Bearer ${token}`;
  return out;
}
