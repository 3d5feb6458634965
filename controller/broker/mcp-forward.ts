// Carries out an MCP route (mcp-route.ts): the request streams to the server's url with the host's token, read from
// the profile's env files at each request (a rotated token takes effect without a restart), and the answer streams
// back as it comes, so a server's SSE stream reaches the client event by event.
import http from 'node:http';
import https from 'node:https';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readEnvFiles } from '../lanes/env-file.js';
import { hostGhToken } from '../lanes/gh-login.js';
import type { BrokeredMcp } from '../lanes/mcp-render.js';
import { responseHeaders } from './broker-route.js';
import { mcpUpstreamHeaders, routeMcp } from './mcp-route.js';
import { upstreamAgent } from './upstream-agents.js';

export interface McpJob {
  token: string;
  servers: readonly BrokeredMcp[];
  /** The profile's env files on the host, where each server's tokenEnv is found. */
  envFiles: readonly string[];
  /** The host's gh folder (the profile's gh mount), whose login `credential: gh` servers get. */
  ghSource?: string | undefined;
}

/** Answers one request under /mcp/; `refuse` counts and answers a refusal as the model broker does. */
export function forwardMcp(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  job: McpJob,
  refuse: (res: http.ServerResponse, status: number, message: string) => void,
  forwarded: () => void,
): void {
  const route = routeMcp({ url: req.url ?? '/', headers: req.headers }, job);
  if (route.kind === 'refuse') {
    req.resume();
    return refuse(res, route.status, route.message);
  }
  void hostToken(job, route.server).then(
    (token) => {
      const target = new URL(route.target);
      const secure = target.protocol === 'https:';
      const out = (secure ? https : http).request(target, {
        method: req.method,
        headers: mcpUpstreamHeaders(req.headers, token),
        agent: upstreamAgent(target),
      });
      out.on('response', (up) => {
        forwarded();
        res.writeHead(up.statusCode ?? 502, responseHeaders(up.headers));
        res.flushHeaders(); // an SSE stream may stay silent a while: the client learns it is open now
        up.pipe(res);
        res.on('close', () => up.destroy());
      });
      out.on('error', (err) => {
        if (!res.headersSent) refuse(res, 502, `broker: MCP server ${route.server.name}: ${err.message}`);
        else res.destroy();
      });
      res.on('close', () => {
        if (!res.writableFinished) out.destroy();
      });
      req.pipe(out);
    },
    (err: Error) => {
      req.resume();
      refuse(res, 502, `broker: MCP server ${route.server.name}: ${err.message}`);
    },
  );
}

async function hostToken(job: McpJob, server: BrokeredMcp): Promise<string> {
  if (server.credential === 'gh') {
    if (!job.ghSource) throw new Error('the profile has no gh login');
    const login = hostGhToken(await readFile(join(job.ghSource, 'hosts.yml'), 'utf8').catch(() => undefined));
    if ('error' in login) throw new Error(`the host's gh login (${job.ghSource}): ${login.error}`);
    return login.token;
  }
  const token = (await readEnvFiles(job.envFiles))[server.tokenEnv];
  if (!token) throw new Error(`${server.tokenEnv} is not set in the profile's env files`);
  return token;
}
