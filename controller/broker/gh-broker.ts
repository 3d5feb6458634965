// A brokered job's gh login: an HTTP server on a unix socket in the job's gh folder, which the job's gh reaches through
// its read-only mount (connect() needs no write access to the folder) and nothing else on the host can (the job folder
// is the controller's alone). Only the job's gh placeholder opens it; each request goes to GitHub's API with the
// host's gh token, read off the host's hosts.yml at each request (a new `gh auth login` takes effect at once), and
// both directions stream; a request with a token of the job's own passes as it is (gh-route.ts). Closed with the job,
// the socket is gone and the placeholder opens nothing.
import { readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import type net from 'node:net';
import { join } from 'node:path';
import { hostGhToken } from '../lanes/gh-login.js';
import { socketPathProblem } from '../util/socket-path.js';
import { ghUpstreamHeaders, routeGh, type GhUpstreams } from './gh-route.js';
import { forwardFailed, sendUpstream, streamAnswer, type Refuse } from './upstream-forward.js';

export interface GhJob {
  /** Where the socket is made, on the controller's side: inside the job's gh folder. */
  socketPath: string;
  /** The placeholder the job's hosts.yml carries. */
  token: string;
  /** The host's gh folder (the profile's gh mount source), where hosts.yml holds the real token. */
  source: string;
}

export interface GhBroker {
  counts: { forwarded: number; refused: number };
  close(): Promise<void>;
}

export async function startGhBroker(job: GhJob, upstreams: GhUpstreams): Promise<GhBroker> {
  const tooLong = socketPathProblem(job.socketPath, "stateDir (a job's folder is stateDir/jobs/<runner name>)");
  if (tooLong) throw new Error(`gh broker: ${tooLong}`);
  const counts = { forwarded: 0, refused: 0 };
  const refuse: Refuse = (res, status, message) => {
    counts.refused += 1;
    // GitHub's error shape, so gh prints the message.
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ message }));
  };
  const server = http.createServer((req, res) => {
    const route = routeGh({ url: req.url ?? '/', headers: req.headers }, job, upstreams);
    if (route.kind === 'refuse') {
      req.resume();
      return refuse(res, route.status, route.message);
    }
    const target = new URL(route.target);
    void (async () => {
      let token: string | undefined;
      if (route.hostToken) {
        const login = hostGhToken(await readFile(join(job.source, 'hosts.yml'), 'utf8').catch(() => undefined));
        if ('error' in login)
          return forwardFailed(req, res, refuse, 502, `broker: the host's gh login (${job.source}): ${login.error}`);
        token = login.token;
      }
      const up = await sendUpstream(target, req, res, ghUpstreamHeaders(req.headers, token), req);
      counts.forwarded += 1;
      streamAnswer(up, res);
    })().catch((err: Error) => forwardFailed(req, res, refuse, 502, `broker: ${target.host}: ${err.message}`));
  });
  const open = new Set<net.Socket>();
  server.on('connection', (socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
  });
  // A socket left by a controller that died with the job running would make listen fail with EADDRINUSE.
  await rm(job.socketPath, { force: true });
  await new Promise<void>((resolve, reject) =>
    server
      .once('error', reject)
      // The container's user is not the controller's: the socket must be connectable by any uid that reaches it.
      .listen({ path: job.socketPath, readableAll: true, writableAll: true }, () => resolve()),
  );
  return {
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of open) socket.destroy();
      }),
  };
}
