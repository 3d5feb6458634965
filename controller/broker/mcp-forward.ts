// Carries out an MCP route (mcp-route.ts): the request goes to the server's url with the host's credential, and the
// answer streams back as it comes, so a server's SSE stream reaches the client event by event. A token server's
// token is read from the profile's env files at each request (a rotated token takes effect without a restart); an
// oauth server's is the host claude's login for it, through that login's one refresher, which refreshes it on the
// host when it expires, and once more when the server refuses it; a gh server's is the host's gh login.
import type http from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readEnvFiles } from '../lanes/env-file.js';
import { hostGhToken } from '../lanes/gh-login.js';
import { claudeMcpOAuthKey, type BrokeredMcp } from '../lanes/mcp-render.js';
import type { McpLoginRefresher, McpLoginRefreshers } from './mcp-login-refresher.js';
import { mcpUpstreamHeaders, routeMcp } from './mcp-route.js';
import { forwardFailed, sendUpstream, streamAnswer, type Refuse } from './upstream-forward.js';

export interface McpJob {
  token: string;
  servers: readonly BrokeredMcp[];
  /** The profile's env files on the host, where each token server's tokenEnv is found. */
  envFiles: readonly string[];
  /** The host's gh folder (the profile's gh mount), whose login `credential: gh` servers get. */
  ghSource?: string | undefined;
  /** The host's claude credentials file, whose `mcpOAuth` holds the oauth servers' logins (unset: no claude login). */
  claudeCredentials?: string | undefined;
  /** The process's refreshers of those logins, one per login whichever jobs use it. */
  logins: McpLoginRefreshers;
}

/**
 * A request kept to be sent again after a refresh is held in memory up to this size: MCP messages are small JSON-RPC
 * documents, so a larger one is refused rather than held.
 */
const MAX_KEPT_BODY = 4 * 1024 * 1024;

class Refused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Answers one request under /mcp/; `refuse` counts and answers a refusal as the model broker does. */
export function forwardMcp(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  job: McpJob,
  refuse: Refuse,
  forwarded: () => void,
): void {
  const route = routeMcp({ url: req.url ?? '/', headers: req.headers }, job);
  if (route.kind === 'refuse') {
    req.resume();
    return refuse(res, route.status, route.message);
  }
  const server = route.server;
  // A GET opens an SSE stream, which the client reopens itself; any other request to an oauth server is kept, so that
  // a login the server refused can be refreshed on the host and the request sent again.
  const login = server.credential === 'oauth' ? oauthLogin(job, server) : undefined;
  const kept = login && req.method !== 'GET' ? readBody(req) : undefined;
  kept?.catch(() => {}); // its refusal is answered below, once awaited
  void (async () => {
    const token = server.credential === 'oauth' ? await login!.current() : await hostToken(job, server);
    const body = kept ? await kept : req;
    let up = await send(route.target, req, res, token, body);
    if (up.statusCode === 401 && login && kept) {
      up.resume();
      up = await send(route.target, req, res, await login.rejected(token), body);
    }
    forwarded();
    streamAnswer(up, res);
  })().catch((err: Error) =>
    forwardFailed(
      req,
      res,
      refuse,
      err instanceof Refused ? err.status : 502,
      `broker: MCP server ${server.name}: ${err.message}`,
    ),
  );
}

/** A token or gh server's token, read on the host at each request. */
async function hostToken(job: McpJob, server: Exclude<BrokeredMcp, { credential: 'oauth' }>): Promise<string> {
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

/** The refresher of the host claude's login for an oauth server, looked up by the key claude itself files it under. */
function oauthLogin(job: McpJob, server: BrokeredMcp): Pick<McpLoginRefresher, 'current' | 'rejected'> {
  if (!job.claudeCredentials) {
    const none = () => Promise.reject(new Error(`the profile carries no claude login to hold ${server.name}'s`));
    return { current: none, rejected: none };
  }
  const key = claudeMcpOAuthKey(server.name, server.url);
  return job.logins.for({ file: job.claudeCredentials, key, server: server.name });
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_KEPT_BODY) chunks.push(c);
    });
    req.on('end', () =>
      size > MAX_KEPT_BODY
        ? reject(
            new Refused(
              413,
              `a request of ${size} bytes is over the ${MAX_KEPT_BODY / 1024 / 1024} MB the broker holds`,
            ),
          )
        : resolve(Buffer.concat(chunks)),
    );
    req.on('error', reject);
    req.on('close', () => {
      if (!req.complete) reject(new Error('the client went away before its request ended'));
    });
  });
}

/** Sends the request to the server with `token`; a kept body whole, else the client's stream as it comes. */
function send(
  target: string,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  token: string,
  body: Buffer | http.IncomingMessage,
): Promise<http.IncomingMessage> {
  return sendUpstream(new URL(target), req, res, mcpUpstreamHeaders(req.headers, token), body);
}
