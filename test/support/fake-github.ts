// A loopback GitHub for the actions' reports: issue comments and check runs, kept in memory. Every request body
// and every response it sends is checked against GitHub's OpenAPI description, so a fake that drifts from the
// real API shows up as a recorded violation instead of a green test.
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { assertRequest, assertResponse, hasOperation } from './openapi.js';

export interface StoredComment {
  id: number;
  issue: number;
  body: string;
  user: string;
  created_at: string;
  updated_at: string;
}
export interface StoredCheckRun {
  id: number;
  name: string;
  head_sha: string;
  status: string;
  conclusion: string | null;
  details_url: string | null;
  /** Each status the run was given, in order: `in_progress`, then `completed:<conclusion>`. */
  states: string[];
  output: { title: string; summary: string; annotations: unknown[] };
}

export interface StoredReview {
  user?: string;
  id: number;
  pull: number;
  commit_id: string;
  body: string;
  event: string;
  comments: Array<{ path: string; line: number; start_line?: number; body: string }>;
}
export interface StoredReaction {
  commentId: number;
  content: string;
}

export interface FakeGitHub {
  url: string;
  /** Pull requests by number, as GET /pulls/{n} returns them (tests move `head.sha` to simulate a push). */
  pulls: Map<number, Record<string, unknown>>;
  commits: Map<number, Array<{ sha: string; message: string }>>;
  /** Unified diff served by the compare endpoint, keyed by `base...head`. */
  diffs: Map<string, string>;
  /** Repository roles by login (admin, maintain, write, triage, read, none). */
  permissions: Map<string, string>;
  /** The tree at a commit, served as GitHub's tarball (path → file text, or a symlink's target). */
  trees: Map<string, Record<string, string | { symlink: string }>>;
  /** File texts served by the contents API, keyed by `ref:path`. */
  files: Map<string, string>;
  reviews: StoredReview[];
  reactions: StoredReaction[];
  comments: StoredComment[];
  checkRuns: StoredCheckRun[];
  /** Method and path of each request, in order. */
  calls: string[];
  /** OpenAPI mismatches; a test asserts this stays empty. */
  violations: string[];
  /** Answers matching requests with this status (e.g. 403 for a token without checks: write). */
  failures: Array<{ method: string; pattern: RegExp; status: number }>;
  /** Authorization headers seen, to prove which token posted. */
  authorizations: Set<string>;
  close(): Promise<void>;
}

export async function startFakeGitHub(owner = 'Codertocat', repo = 'Hello-World'): Promise<FakeGitHub> {
  let nextId = 1000;
  const state: FakeGitHub = {
    url: '',
    pulls: new Map(),
    commits: new Map(),
    diffs: new Map(),
    permissions: new Map(),
    trees: new Map(),
    files: new Map(),
    reviews: [],
    reactions: [],
    comments: [],
    checkRuns: [],
    calls: [],
    violations: [],
    failures: [],
    authorizations: new Set(),
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
  const base = `/repos/${owner}/${repo}`;
  const now = () => new Date().toISOString();
  const site = 'https://github.com';

  // Logins such as `github-actions[bot]` are percent-encoded in URLs, as GitHub does (the schema wants URIs).
  const user = (name: string) => {
    const api = `https://api.github.com/users/${encodeURIComponent(name)}`;
    return {
      login: name,
      id: 41898282,
      node_id: 'MDM6Qm90NDE4OTgyODI=',
      avatar_url: 'https://avatars.githubusercontent.com/in/15368?v=4',
      gravatar_id: '',
      url: api,
      html_url: `${site}/apps/github-actions`,
      followers_url: `${api}/followers`,
      following_url: `${api}/following{/other_user}`,
      gists_url: `${api}/gists{/gist_id}`,
      starred_url: `${api}/starred{/owner}{/repo}`,
      subscriptions_url: `${api}/subscriptions`,
      organizations_url: `${api}/orgs`,
      repos_url: `${api}/repos`,
      events_url: `${api}/events{/privacy}`,
      received_events_url: `${api}/received_events`,
      type: 'Bot',
      site_admin: false,
    };
  };
  const commentJson = (c: StoredComment) => ({
    id: c.id,
    node_id: `IC_${c.id}`,
    url: `https://api.github.com${base}/issues/comments/${c.id}`,
    html_url: `${site}/${owner}/${repo}/pull/${c.issue}#issuecomment-${c.id}`,
    body: c.body,
    user: user(c.user),
    created_at: c.created_at,
    updated_at: c.updated_at,
    issue_url: `https://api.github.com${base}/issues/${c.issue}`,
    author_association: 'NONE',
  });
  const checkJson = (r: StoredCheckRun) => ({
    id: r.id,
    node_id: `CR_${r.id}`,
    head_sha: r.head_sha,
    external_id: '',
    url: `https://api.github.com${base}/check-runs/${r.id}`,
    html_url: `${site}/${owner}/${repo}/runs/${r.id}`,
    details_url: r.details_url,
    status: r.status,
    conclusion: r.conclusion,
    started_at: now(),
    completed_at: now(),
    name: r.name,
    check_suite: { id: 5 },
    app: null,
    pull_requests: [],
    output: {
      title: r.output.title,
      summary: r.output.summary,
      text: null,
      annotations_count: r.output.annotations.length,
      annotations_url: `https://api.github.com${base}/check-runs/${r.id}/annotations`,
    },
  });

  const notFound = { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' };
  // GitHub refuses a comment or review body over 65536 characters as a whole, with a 422 (reviews document the
  // simple form, whose errors are strings).
  const tooLong = (resource: string, b: Record<string, unknown>): [number, unknown] | undefined => {
    if (String(b.body ?? '').length <= 65_536) return undefined;
    const message = 'Body is too long (maximum is 65536 characters)';
    const errors =
      resource === 'PullRequestReview' ? [message] : [{ resource, code: 'custom', field: 'body', message }];
    return [422, { message: 'Validation Failed', errors, documentation_url: 'https://docs.github.com/rest' }];
  };
  const reviewJson = (r: StoredReview) => ({
    id: r.id,
    node_id: `PRR_${r.id}`,
    user: user(r.user ?? 'github-actions[bot]'),
    body: r.body,
    state: 'COMMENTED',
    commit_id: r.commit_id,
    html_url: `${site}/${owner}/${repo}/pull/${r.pull}#pullrequestreview-${r.id}`,
    pull_request_url: `https://api.github.com${base}/pulls/${r.pull}`,
    _links: {
      html: { href: `${site}/${owner}/${repo}/pull/${r.pull}#pullrequestreview-${r.id}` },
      pull_request: { href: `https://api.github.com${base}/pulls/${r.pull}` },
    },
    submitted_at: now(),
    author_association: 'NONE',
  });
  const commitJson = (c: { sha: string; message: string }) => {
    const person = { name: 'Dev', email: 'dev@example.com', date: now() };
    return {
      url: `https://api.github.com${base}/commits/${c.sha}`,
      sha: c.sha,
      node_id: `C_${c.sha}`,
      html_url: `${site}/${owner}/${repo}/commit/${c.sha}`,
      comments_url: `https://api.github.com${base}/commits/${c.sha}/comments`,
      commit: {
        url: `https://api.github.com${base}/git/commits/${c.sha}`,
        author: person,
        committer: person,
        message: c.message,
        comment_count: 0,
        tree: { sha: c.sha, url: `https://api.github.com${base}/git/trees/${c.sha}` },
      },
      author: null,
      committer: null,
      parents: [],
    };
  };

  type Handler = (m: RegExpExecArray, body: Record<string, unknown>, query: URLSearchParams) => [number, unknown];
  const routes: Array<[string, RegExp, Handler]> = [
    // The Actions token is an installation token: GitHub refuses it /user.
    [
      'GET',
      /^\/user$/,
      () => [
        403,
        {
          message: 'Resource not accessible by integration',
          documentation_url: 'https://docs.github.com/rest/users/users#get-the-authenticated-user',
        },
      ],
    ],
    [
      'GET',
      new RegExp(`^${base}/collaborators/([^/]+)/permission$`),
      (m) => {
        const login = decodeURIComponent(m[1]!);
        const role = state.permissions.get(login) ?? 'read';
        const permission = role === 'maintain' ? 'write' : role === 'triage' ? 'read' : role;
        return [200, { permission, role_name: role, user: { ...user(login), type: 'User', role_name: role } }];
      },
    ],
    [
      'GET',
      new RegExp(`^${base}/contents/(.+)$`),
      (m, _b, query) => {
        const path = decodeURIComponent(m[1]!);
        const text = state.files.get(`${query.get('ref') ?? ''}:${path}`);
        if (text === undefined) return [404, notFound];
        const sha = createHash('sha1')
          .update(`blob ${Buffer.byteLength(text)}\0${text}`)
          .digest('hex');
        const url = `https://api.github.com${base}/contents/${path}`;
        return [
          200,
          {
            type: 'file',
            encoding: 'base64',
            size: Buffer.byteLength(text),
            name: path.split('/').pop(),
            path,
            content: Buffer.from(text).toString('base64'),
            sha,
            url,
            git_url: `https://api.github.com${base}/git/blobs/${sha}`,
            html_url: `${site}/${owner}/${repo}/blob/${query.get('ref')}/${path}`,
            download_url: `https://raw.githubusercontent.com/${owner}/${repo}/${query.get('ref')}/${path}`,
            _links: {
              self: url,
              git: `https://api.github.com${base}/git/blobs/${sha}`,
              html: `${site}/${owner}/${repo}/blob/${query.get('ref')}/${path}`,
            },
          },
        ];
      },
    ],
    [
      'GET',
      new RegExp(`^${base}/pulls/(\\d+)$`),
      (m) => {
        const pr = state.pulls.get(Number(m[1]));
        return pr ? [200, pr] : [404, notFound];
      },
    ],
    [
      'GET',
      new RegExp(`^${base}/pulls/(\\d+)/commits$`),
      (m) => [200, (state.commits.get(Number(m[1])) ?? []).map(commitJson)],
    ],
    [
      'GET',
      new RegExp(`^${base}/pulls/(\\d+)/reviews$`),
      (m) => [200, state.reviews.filter((r) => r.pull === Number(m[1])).map(reviewJson)],
    ],
    [
      'POST',
      new RegExp(`^${base}/pulls/(\\d+)/reviews$`),
      (m, b) => {
        const refused = tooLong('PullRequestReview', b);
        if (refused) return refused;
        const r: StoredReview = {
          id: ++nextId,
          pull: Number(m[1]),
          commit_id: String(b.commit_id),
          body: String(b.body ?? ''),
          event: String(b.event),
          comments: ((b.comments ?? []) as StoredReview['comments']).map(({ path, line, start_line, body }) => ({
            path,
            line,
            ...(start_line ? { start_line } : {}),
            body,
          })),
        };
        state.reviews.push(r);
        return [200, reviewJson(r)];
      },
    ],
    [
      'POST',
      new RegExp(`^${base}/issues/comments/(\\d+)/reactions$`),
      (m, b) => {
        state.reactions.push({ commentId: Number(m[1]), content: String(b.content) });
        return [
          201,
          {
            id: ++nextId,
            node_id: `REA_${nextId}`,
            user: user('github-actions[bot]'),
            content: b.content,
            created_at: now(),
          },
        ];
      },
    ],
    [
      'GET',
      new RegExp(`^${base}/issues/(\\d+)/comments$`),
      (m) => [200, state.comments.filter((c) => c.issue === Number(m[1])).map(commentJson)],
    ],
    [
      'POST',
      new RegExp(`^${base}/issues/(\\d+)/comments$`),
      (m, b) => {
        const refused = tooLong('IssueComment', b);
        if (refused) return refused;
        const c = {
          id: ++nextId,
          issue: Number(m[1]),
          body: String(b.body),
          user: 'github-actions[bot]',
          created_at: now(),
          updated_at: now(),
        };
        state.comments.push(c);
        return [201, commentJson(c)];
      },
    ],
    [
      'PATCH',
      new RegExp(`^${base}/issues/comments/(\\d+)$`),
      (m, b) => {
        const c = state.comments.find((x) => x.id === Number(m[1]));
        if (!c) return [404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' }];
        const refused = tooLong('IssueComment', b);
        if (refused) return refused;
        Object.assign(c, { body: String(b.body), updated_at: now() });
        return [200, commentJson(c)];
      },
    ],
    [
      'POST',
      new RegExp(`^${base}/check-runs$`),
      (_m, b) => {
        const out = (b.output ?? {}) as { title?: string; summary?: string; annotations?: unknown[] };
        const r: StoredCheckRun = {
          id: ++nextId,
          name: String(b.name),
          head_sha: String(b.head_sha),
          status: String(b.status ?? 'queued'),
          conclusion: (b.conclusion as string) ?? null,
          details_url: (b.details_url as string) ?? null,
          output: { title: out.title ?? '', summary: out.summary ?? '', annotations: out.annotations ?? [] },
          states: [],
        };
        r.states.push(r.conclusion ? `completed:${r.conclusion}` : r.status);
        state.checkRuns.push(r);
        return [201, checkJson(r)];
      },
    ],
    [
      'PATCH',
      new RegExp(`^${base}/check-runs/(\\d+)$`),
      (m, b) => {
        const r = state.checkRuns.find((x) => x.id === Number(m[1]));
        if (!r) return [404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' }];
        const out = (b.output ?? {}) as { title?: string; summary?: string; annotations?: unknown[] };
        // As GitHub does: a conclusion completes the run; output title and summary replace, annotations append.
        if (b.conclusion) Object.assign(r, { status: 'completed', conclusion: String(b.conclusion) });
        else if (b.status) r.status = String(b.status);
        if (b.conclusion || b.status) r.states.push(r.conclusion ? `completed:${r.conclusion}` : r.status);
        if (out.title !== undefined) r.output.title = out.title;
        if (out.summary !== undefined) r.output.summary = out.summary;
        r.output.annotations.push(...(out.annotations ?? []));
        return [200, checkJson(r)];
      },
    ],
  ];

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const method = req.method ?? 'GET';
      const path = (req.url ?? '/').split('?')[0]!;
      const raw = Buffer.concat(chunks).toString('utf8');
      const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : undefined;
      state.calls.push(`${method} ${path}`);
      if (req.headers.authorization) state.authorizations.add(req.headers.authorization);
      const guard = (fn: () => void) => {
        try {
          fn();
        } catch (err) {
          state.violations.push((err as Error).message);
        }
      };
      // codeload is another host in GitHub, outside the REST API: it serves the archive a tarball request redirects to.
      const codeload = /^\/_codeload\/[^/]+\/[^/]+\/legacy\.tar\.gz\/(.+)$/.exec(path);
      if (codeload && method === 'GET') {
        const tree = state.trees.get(decodeURIComponent(codeload[1]!));
        if (!tree) return void res.writeHead(404).end('Not Found');
        void tarGz(tree, `${owner}-${repo}-${codeload[1]!.slice(0, 7)}`).then((gz) =>
          res.writeHead(200, { 'content-type': 'application/x-gzip' }).end(gz),
        );
        return;
      }
      guard(() => assertRequest(method, path, body));
      const failure = state.failures.find((f) => f.method === method && f.pattern.test(path));
      let status: number;
      let payload: unknown;
      // GitHub answers a tarball request with a redirect to codeload, which serves the gzipped tar.
      const tarball = new RegExp(`^${base}/tarball/(.+)$`).exec(path);
      if (tarball && method === 'GET') {
        if (!hasOperation(method, path)) state.violations.push(`OpenAPI: no operation GET ${path}`);
        res.writeHead(302, { location: `${state.url}/_codeload/${owner}/${repo}/legacy.tar.gz/${tarball[1]}` });
        res.end();
        return;
      }
      const compare = new RegExp(`^${base}/compare/(.+)$`).exec(path);
      if (compare && method === 'GET') {
        // Served as `application/vnd.github.diff`: not JSON, so only the route itself is checked against the spec.
        if (!hasOperation(method, path)) state.violations.push(`OpenAPI: no operation GET ${path}`);
        if (!/diff/.test(String(req.headers.accept)))
          state.violations.push(`compare asked for ${String(req.headers.accept)}, the fake serves diffs only`);
        const diff = state.diffs.get(decodeURIComponent(compare[1]!));
        res.writeHead(diff === undefined ? 404 : 200, { 'content-type': 'application/vnd.github.diff; charset=utf-8' });
        res.end(diff ?? 'Not Found');
        return;
      }
      const route = routes.find(([m, p]) => m === method && p.test(path));
      if (failure)
        [status, payload] = [
          failure.status,
          { message: 'Resource not accessible by integration', documentation_url: 'https://docs.github.com/rest' },
        ];
      else if (route)
        [status, payload] = route[2](
          route[1].exec(path)!,
          body ?? {},
          new URL(req.url ?? '/', 'http://x').searchParams,
        );
      else {
        // A call the fake does not model would otherwise pass as a quiet 404 the action merely warns about.
        state.violations.push(`fake GitHub: no route ${method} ${path}`);
        [status, payload] = [404, notFound];
      }
      // GitHub refuses a token that lacks a permission with this 403 on every route, whether the route documents
      // it or not (POST /check-runs does not), as it answers a missing resource with 404.
      if (!(failure && failure.status === 403)) guard(() => assertResponse(method, path, status, payload));
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(payload));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

/** A webhook payload's `pull_request` as GET /pulls/{n} returns it (the REST shape has a few more fields). */
export function restPullRequest(webhookPr: Record<string, unknown>): Record<string, unknown> {
  return { auto_merge: null, ...structuredClone(webhookPr) };
}

/** A tree as GitHub's tarball lays it out: everything under one `owner-repo-sha7/` folder, gzipped. */
export async function tarGz(tree: Record<string, string | { symlink: string }>, top: string): Promise<Buffer> {
  const archive = pack();
  const chunks: Buffer[] = [];
  archive.on('data', (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((resolve) => archive.on('end', resolve));
  archive.entry({ name: `${top}/`, type: 'directory' });
  for (const [path, entry] of Object.entries(tree)) {
    if (typeof entry === 'string') archive.entry({ name: `${top}/${path}`, mode: 0o644 }, entry);
    else archive.entry({ name: `${top}/${path}`, type: 'symlink', linkname: entry.symlink });
  }
  archive.finalize();
  await done;
  return gzipSync(Buffer.concat(chunks));
}
