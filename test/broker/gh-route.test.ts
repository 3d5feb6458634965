// The gh broker's decision for one request: the placeholder first, then GitHub's two API hosts and nothing else, with
// the host's token in place of the job's placeholder and a token of the job's own passed as it is.
import { describe, expect, it } from 'vitest';
import { ghUpstreamHeaders, routeGh } from '../../controller/broker/gh-route.js';

const job = { token: 'factory-broker-gh' };
const OTHER_JOB = 'token factory-broker-other';
const up = { githubApiUrl: 'https://api.github.com', githubUploadsUrl: 'https://uploads.github.com' };
const req = (host: string, url = '/user', authorization = 'token factory-broker-gh') => ({
  url,
  headers: { host, authorization },
});

describe('routeGh', () => {
  it('forwards the two API hosts to their upstreams, path and query kept', () => {
    expect(routeGh(req('api.github.com', '/repos/o/r?x=1'), job, up)).toEqual({
      kind: 'forward',
      target: 'https://api.github.com/repos/o/r?x=1',
      hostToken: true,
    });
    expect(routeGh(req('uploads.github.com:443', '/a'), job, up)).toEqual({
      kind: 'forward',
      target: 'https://uploads.github.com/a',
      hostToken: true,
    });
  });

  it("refuses another job's placeholder before it looks at the host", () => {
    expect(routeGh(req('example.com', '/', OTHER_JOB), job, up)).toMatchObject({ status: 401 });
    expect(routeGh(req('api.github.com', '/', 'Bearer factory-broker-gh2'), job, up)).toMatchObject({ status: 401 });
  });

  it("passes a token of the job's own, or none, as it is: the host's token only replaces the placeholder", () => {
    expect(routeGh(req('api.github.com', '/user', 'token ghs_jobOwn'), job, up)).toMatchObject({ hostToken: false });
    expect(routeGh({ url: '/zen', headers: { host: 'api.github.com' } }, job, up)).toMatchObject({ hostToken: false });
    expect(ghUpstreamHeaders({ host: 'api.github.com', authorization: 'token ghs_jobOwn' }, undefined)).toEqual({
      authorization: 'token ghs_jobOwn',
    });
    expect(routeGh(req('example.com', '/', 'token ghs_jobOwn'), job, up)).toMatchObject({ status: 403 });
  });

  it('refuses any other host, an absolute-form request and a path that climbs out', () => {
    expect(routeGh(req('github.com'), job, up)).toMatchObject({ status: 403 });
    expect(routeGh(req('api.github.com.evil.test'), job, up)).toMatchObject({ status: 403 });
    expect(routeGh(req('api.github.com', 'http://evil.test/x'), job, up)).toMatchObject({ status: 400 });
    expect(routeGh(req('api.github.com', '/a/%2e%2e/b'), job, up)).toMatchObject({ status: 400 });
  });

  it('sends the host token, not the placeholder, and drops hop-by-hop headers', () => {
    const headers = ghUpstreamHeaders(
      { host: 'api.github.com', authorization: 'token factory-broker-gh', connection: 'close', accept: 'x' },
      'gho_real',
    );
    expect(headers).toEqual({ accept: 'x', authorization: 'token gho_real' });
  });
});
