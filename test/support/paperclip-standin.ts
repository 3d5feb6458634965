// A loopback stand-in for Paperclip's API (paperclipai/paperclip, server/src/routes/issues.ts and
// middleware/auth.ts), as far as an agent run touches it: GET /api/auth/get-session, GET and PATCH /api/issues/:id.
// Like the real server in local_trusted mode, a request without a bearer token is the implicit "local-board" actor,
// with the board's full rights; a bearer token must be a run token it issued (else 401), and an
// X-Paperclip-Run-Id header must be the UUID of a run it knows (else 400). Statuses are Paperclip's ISSUE_STATUSES.
import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export const ISSUE_STATUSES = ['backlog', 'todo', 'in_progress', 'in_review', 'done', 'blocked', 'cancelled'] as const;

export interface PaperclipIssue {
  id: string;
  title: string;
  status: string;
  comments: string[];
}

export interface PaperclipWrite {
  issueId: string;
  /** `agent:<id>` for a run token, `board:local-board` for the implicit local actor. */
  actor: string;
  runId?: string;
  body: unknown;
}

export interface PaperclipRun {
  runId: string;
  agentId: string;
  token: string;
}

export interface PaperclipStandin {
  url: string;
  port: number;
  issues: Map<string, PaperclipIssue>;
  writes: PaperclipWrite[];
  /** A heartbeat run for `agentId`: the ids and the token Paperclip would put in PAPERCLIP_RUN_ID and _API_KEY. */
  startRun(agentId: string): PaperclipRun;
  close(): Promise<void>;
}

export async function startPaperclipStandin(): Promise<PaperclipStandin> {
  const issues = new Map<string, PaperclipIssue>();
  const writes: PaperclipWrite[] = [];
  const runs = new Map<string, PaperclipRun>();
  const send = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const auth = req.headers.authorization;
      let actor = 'board:local-board';
      if (auth !== undefined) {
        const token = /^Bearer (.+)$/.exec(auth)?.[1];
        const run = [...runs.values()].find((r) => r.token === token);
        if (!run) return send(res, 401, { error: 'Unauthorized' });
        actor = `agent:${run.agentId}`;
      }
      const runId = req.headers['x-paperclip-run-id'];
      if (runId !== undefined && (typeof runId !== 'string' || !runs.has(runId)))
        return send(res, 400, { error: 'Invalid X-Paperclip-Run-Id' });
      const path = new URL(req.url ?? '/', 'http://paperclip').pathname;
      if (req.method === 'GET' && path === '/api/auth/get-session')
        return send(res, 200, {
          session: { id: 'paperclip:local_implicit:local-board', userId: 'local-board' },
          user: { id: 'local-board', email: null, name: 'Local Board' },
        });
      const issueId = /^\/api\/issues\/([^/]+)$/.exec(path)?.[1];
      const issue = issueId ? issues.get(issueId) : undefined;
      if (!issue) return send(res, 404, { error: 'Issue not found' });
      if (req.method === 'GET') return send(res, 200, issue);
      if (req.method !== 'PATCH') return send(res, 405, { error: 'Method not allowed' });
      let body: { status?: unknown; comment?: unknown };
      try {
        body = JSON.parse(raw) as typeof body;
      } catch {
        return send(res, 400, { error: 'Invalid JSON' });
      }
      if (body.status !== undefined && !ISSUE_STATUSES.includes(body.status as (typeof ISSUE_STATUSES)[number]))
        return send(res, 400, { error: 'Validation error', details: [{ path: ['status'] }] });
      writes.push({ issueId: issue.id, actor, ...(runId ? { runId } : {}), body });
      if (typeof body.status === 'string') issue.status = body.status;
      if (typeof body.comment === 'string') issue.comments.push(body.comment);
      send(res, 200, issue);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    issues,
    writes,
    startRun(agentId) {
      const run = { runId: randomUUID(), agentId, token: `pcp_run_${randomBytes(12).toString('hex')}` };
      runs.set(run.runId, run);
      return run;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
