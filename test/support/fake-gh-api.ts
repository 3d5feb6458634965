// A loopback GitHub API for the gh CLI: the REST routes the tests call (the signed-in user, a workflow run) answered
// with GitHub's own documented examples and checked against GitHub's OpenAPI description before they are sent, gh's
// GraphQL query for `gh pr view`, and an uploads route. It records who asked, with which Authorization, on which host,
// so a test can say the host's token reached it and the placeholder never did.
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { assertResponse, documentedExample } from './openapi.js';

export interface FakeGhRequest {
  method: string;
  url: string;
  authorization: string | undefined;
  body: string;
}

export interface FakeGhApi {
  /** The API's base, what `broker.githubApiUrl` names in a test. */
  url: string;
  requests: FakeGhRequest[];
  close(): Promise<void>;
}

export async function startFakeGhApi(login = 'octocat'): Promise<FakeGhApi> {
  const requests: FakeGhRequest[] = [];
  const rest = (res: ServerResponse, method: string, path: string, body: unknown) => {
    assertResponse(method, path, 200, body);
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
  };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      const url = req.url ?? '/';
      requests.push({ method: req.method ?? 'GET', url, authorization: req.headers.authorization, body });
      const path = url.split('?')[0]!;
      if (req.method === 'GET' && path === '/user')
        return rest(res, 'get', path, {
          ...documentedExample('private-user-response-with-public-and-private-profile-information'),
          login,
        });
      const runId = /^\/repos\/[^/]+\/[^/]+\/actions\/runs\/(\d+)$/.exec(path)?.[1];
      if (req.method === 'GET' && runId)
        return rest(res, 'get', path, { ...documentedExample('workflow-run'), id: Number(runId) });
      if (req.method === 'POST' && path === '/graphql') {
        // gh pr view's PullRequestByNumber query: only the fields its --json asks for are read.
        const data = { repository: { pullRequest: { number: 1, title: 'Amazing new feature', state: 'OPEN' } } };
        return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data }));
      }
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end(JSON.stringify({ message: 'Not Found', documentation_url: 'https://docs.github.com/rest' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
