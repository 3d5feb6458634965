// The GitHub client at the HTTP layer, with nock: what it sends (checked against GitHub's OpenAPI description), how
// it retries, waits out rate limits, follows pages, refreshes App tokens, and which kind each failure is.
import { generateKeyPairSync, verify } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { configSchema } from '../../controller/config/config.js';
import { GitHubError, gitHubClient } from '../../controller/github/github-client.js';
import type { ApiObserver } from '../../controller/model/api-observer.js';
import examples from '../../controller/github/standin/github-examples.json' with { type: 'json' };
import { silentLogger } from '../../controller/observe/logger.js';
import { assertRequest, assertResponse } from '../support/openapi.js';

const API = 'https://api.github.com';
const REPO = 'ainative-academy/aina-platform';
const RUNNERS = `/repos/${REPO}/actions/runners`;

const config = (auth: Record<string, unknown> = { tokenEnv: 'GH_TOKEN' }) =>
  configSchema.parse({
    github: { auth, webhook: { secret: { env: 'S' } } },
    profiles: { ci: { labels: ['self-hosted', 'ci'], image: 'ci' } },
    repos: [{ repo: REPO, profiles: ['ci'] }],
  });

/** What the client told its observer, in order. */
function recorder() {
  const calls: string[] = [];
  const results: string[] = [];
  const remaining: number[] = [];
  const observer: ApiObserver = {
    onCall: (route, status) => calls.push(`${route} ${status}`),
    onRateLimitRemaining: (n) => remaining.push(n),
    onResult: (repo, state) => results.push(`${repo} ${state}`),
  };
  return { calls, results, remaining, observer };
}

/** A client whose waits are scaled down: a `retry-after: 1` costs 10 ms here, as it costs 1 s against GitHub. */
const client = (observer?: ApiObserver, auth?: Record<string, unknown>) =>
  gitHubClient(config(auth), { GH_TOKEN: 'ghp_test' }, silentLogger(), {
    retryAfterBaseValue: 10,
    ...(observer ? { observer } : {}),
  });

const runner = (id: number, name = `factory-${id}`) => ({
  ...structuredClone(examples.runner),
  id,
  name,
  busy: false,
  ephemeral: true,
});
/** Replies with the body after checking it is what GitHub documents for this route and status. */
const documented = (method: string, path: string, status: number, body: unknown) => {
  assertResponse(method, path, status, body);
  return [status, body] as const;
};

beforeAll(() => nock.disableNetConnect());
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending, 'every mocked exchange happened').toEqual([]);
});
afterAll(() => nock.enableNetConnect());

describe('requests', () => {
  it('registers a JIT runner with the body GitHub documents, authenticated with the token', async () => {
    const sent: unknown[] = [];
    const body = {
      name: 'factory-aina-platform-1',
      runner_group_id: 1,
      labels: ['self-hosted', 'ci'],
      work_folder: '_work',
    };
    nock(API, { reqheaders: { authorization: 'token ghp_test' } })
      .post(`${RUNNERS}/generate-jitconfig`, (b) => (sent.push(b), true))
      .reply(() =>
        documented('POST', `${RUNNERS}/generate-jitconfig`, 201, {
          runner: runner(42, body.name),
          encoded_jit_config: 'ZW5jb2RlZA==',
        }),
      );

    const gh = await client();
    expect(await gh.generateJitConfig(REPO, body)).toEqual({ runnerId: 42, encodedJitConfig: 'ZW5jb2RlZA==' });
    expect(sent).toEqual([body]);
    assertRequest('POST', `${RUNNERS}/generate-jitconfig`, sent[0]);
  });

  it('lists runners across every page GitHub links to', async () => {
    const page = (n: number) => `${API}/repositories/1296269/actions/runners?per_page=100&page=${n}`;
    nock(API)
      .get(RUNNERS)
      .query({ per_page: 100 })
      .reply(
        200,
        { total_count: 201, runners: Array.from({ length: 100 }, (_, i) => runner(i + 1)) },
        { link: `<${page(2)}>; rel="next", <${page(3)}>; rel="last"` },
      )
      .get('/repositories/1296269/actions/runners')
      .query({ per_page: 100, page: 2 })
      .reply(
        200,
        { total_count: 201, runners: Array.from({ length: 100 }, (_, i) => runner(i + 101)) },
        { link: `<${page(3)}>; rel="next", <${page(3)}>; rel="last"` },
      )
      .get('/repositories/1296269/actions/runners')
      .query({ per_page: 100, page: 3 })
      .reply(200, { total_count: 201, runners: [runner(201)] });

    const runners = await (await client()).listRunners(REPO);
    expect(runners.map((r) => r.id)).toEqual(Array.from({ length: 201 }, (_, i) => i + 1));
    expect(runners[0]).toEqual({ id: 1, name: 'factory-1', status: 'online', busy: false });
  });

  it('finds queued jobs on every page of runs and jobs, and only the queued ones', async () => {
    const run = (id: number, status: string) => ({ ...structuredClone(examples.workflowRun), id, status });
    const job = (id: number, runId: number, status: string) => ({
      ...structuredClone(examples.job),
      id,
      run_id: runId,
      status,
      labels: ['self-hosted', 'ci'],
    });
    const jobsPage2 = `${API}/repositories/1296269/actions/runs/7/jobs?filter=latest&per_page=100&page=2`;
    nock(API)
      .get(`/repos/${REPO}/actions/runs`)
      .query({ status: 'queued', per_page: 100 })
      .reply(() =>
        documented('GET', `/repos/${REPO}/actions/runs`, 200, { total_count: 1, workflow_runs: [run(7, 'queued')] }),
      )
      .get(`/repos/${REPO}/actions/runs/7/jobs`)
      .query({ filter: 'latest', per_page: 100 })
      .reply(
        200,
        { total_count: 101, jobs: [job(70, 7, 'queued'), job(71, 7, 'in_progress')] },
        { link: `<${jobsPage2}>; rel="next", <${jobsPage2}>; rel="last"` },
      )
      .get('/repositories/1296269/actions/runs/7/jobs')
      .query({ filter: 'latest', per_page: 100, page: 2 })
      .reply(200, { total_count: 101, jobs: [job(72, 7, 'queued')] })
      .get(`/repos/${REPO}/actions/runs`)
      .query({ status: 'in_progress', per_page: 100 })
      .reply(200, { total_count: 1, workflow_runs: [run(8, 'in_progress')] })
      .get(`/repos/${REPO}/actions/runs/8/jobs`)
      .query({ filter: 'latest', per_page: 100 })
      .reply(() =>
        documented('GET', `/repos/${REPO}/actions/runs/8/jobs`, 200, {
          total_count: 2,
          jobs: [job(80, 8, 'completed'), job(81, 8, 'queued')],
        }),
      );

    expect(await (await client()).listQueuedJobs(REPO)).toEqual([
      { id: 70, runId: 7, labels: ['self-hosted', 'ci'] },
      { id: 72, runId: 7, labels: ['self-hosted', 'ci'] },
      { id: 81, runId: 8, labels: ['self-hosted', 'ci'] },
    ]);
  });
});

describe('retries and rate limits', () => {
  it('retries a 502 and succeeds without the caller seeing it', async () => {
    const r = recorder();
    nock(API)
      .get(RUNNERS)
      .query(true)
      .reply(502, { message: 'Server Error' })
      .get(RUNNERS)
      .query(true)
      .reply(200, { total_count: 0, runners: [] });

    expect(await (await client(r.observer)).listRunners(REPO)).toEqual([]);
    expect(r.calls.map((c) => c.split(' ').pop())).toEqual(['502', '200']);
    expect(r.results).toEqual([`${REPO} ok`]);
  });

  it('waits until the primary rate limit resets, then retries', async () => {
    const r = recorder();
    const reset = Math.ceil(Date.now() / 1000) + 3;
    nock(API)
      .get(RUNNERS)
      .query(true)
      .reply(
        403,
        {
          message: 'API rate limit exceeded for user ID 1.',
          documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api',
        },
        { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset), 'x-ratelimit-limit': '5000' },
      )
      .get(RUNNERS)
      .query(true)
      .reply(200, { total_count: 0, runners: [] }, { 'x-ratelimit-remaining': '4999' });

    const started = Date.now();
    expect(await (await client(r.observer)).listRunners(REPO)).toEqual([]);
    // The wait is (reset - now) seconds, each worth 10 ms here: a retry that did not wait would take ~0 ms.
    expect(Date.now() - started).toBeGreaterThanOrEqual(15);
    expect(r.remaining).toEqual([0, 4999]);
  });

  it('honours retry-after on a secondary rate limit', async () => {
    nock(API)
      .post(`${RUNNERS}/generate-jitconfig`)
      .reply(
        403,
        { message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.' },
        { 'retry-after': '2' },
      )
      .post(`${RUNNERS}/generate-jitconfig`)
      .reply(201, { runner: runner(5), encoded_jit_config: 'eA==' });

    const started = Date.now();
    const jit = await (
      await client()
    ).generateJitConfig(REPO, { name: 'r', runner_group_id: 1, labels: ['ci'], work_folder: '_work' });
    expect(jit.runnerId).toBe(5);
    expect(Date.now() - started).toBeGreaterThanOrEqual(20);
  });

  it('the JIT registration, outside the plugins, retries a 5xx and waits out a primary rate limit too', async () => {
    const r = recorder();
    const reset = Math.ceil(Date.now() / 1000) + 3;
    nock(API)
      .post(`${RUNNERS}/generate-jitconfig`)
      .reply(502, { message: 'Server Error' })
      .post(`${RUNNERS}/generate-jitconfig`)
      .reply(
        403,
        { message: 'API rate limit exceeded for user ID 1.' },
        { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) },
      )
      .post(`${RUNNERS}/generate-jitconfig`)
      .reply(201, { runner: runner(6), encoded_jit_config: 'eA==' });

    const started = Date.now();
    const jit = await (
      await client(r.observer)
    ).generateJitConfig(REPO, { name: 'r', runner_group_id: 1, labels: ['ci'], work_folder: '_work' });
    expect(jit.runnerId).toBe(6);
    expect(r.calls.map((c) => c.split(' ').pop())).toEqual(['502', '403', '201']);
    // 1 unit after the 502, then (reset - now) + 1 units, 10 ms each here.
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    expect(r.results).toEqual([`${REPO} ok`]);
  });

  it('the JIT registration gives up after three 5xx retries, and GitHub counts as unreachable', async () => {
    const r = recorder();
    nock(API).post(`${RUNNERS}/generate-jitconfig`).times(4).reply(503, { message: 'Service Unavailable' });

    const err = await (
      await client(r.observer)
    )
      .generateJitConfig(REPO, { name: 'r', runner_group_id: 1, labels: ['ci'], work_folder: '_work' })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 503, kind: 'unreachable' });
    expect(r.calls).toHaveLength(4);
    expect(r.results).toEqual([`${REPO} unreachable`]);
  });

  it('gives up after three rate-limit retries and says the limit is spent', async () => {
    const r = recorder();
    const limited = { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000)) };
    nock(API).get(RUNNERS).query(true).times(4).reply(403, { message: 'API rate limit exceeded' }, limited);

    const err = await (await client(r.observer)).listRunners(REPO).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GitHubError);
    expect(err).toMatchObject({ status: 403, kind: 'rate_limited' });
    expect(r.results).toEqual([`${REPO} rate_limited`]);
  });
});

describe('failures by kind', () => {
  it('a rejected token is unauthorised, and is not retried', async () => {
    const r = recorder();
    nock(API)
      .get(RUNNERS)
      .query(true)
      .once()
      .reply(401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' });

    const err = await (await client(r.observer)).listRunners(REPO).catch((e: unknown) => e);
    expect(err).toMatchObject({
      status: 401,
      kind: 'unauthorised',
      message: `GitHub 401 on GET runners for ${REPO}: Bad credentials - https://docs.github.com/rest`,
    });
    expect(r.calls).toHaveLength(1);
    expect(r.results).toEqual([`${REPO} unauthorised`]);
  });

  it('a 403 without a spent limit is a missing permission; a 404 on the repo means the credential cannot see it', async () => {
    const r = recorder();
    nock(API)
      .get(RUNNERS)
      .query(true)
      .reply(403, { message: 'Resource not accessible by personal access token' }, { 'x-ratelimit-remaining': '4990' })
      .get(RUNNERS)
      .query(true)
      .reply(404, { message: 'Not Found' });

    const gh = await client(r.observer);
    expect(await gh.listRunners(REPO).catch((e: unknown) => e)).toMatchObject({ status: 403, kind: 'forbidden' });
    expect(await gh.listRunners(REPO).catch((e: unknown) => e)).toMatchObject({ status: 404, kind: 'not_found' });
    expect(r.results).toEqual([`${REPO} forbidden`, `${REPO} forbidden`]);
  });

  it('deleting a runner that is gone or busy is an answer, not a failure', async () => {
    const r = recorder();
    nock(API)
      .delete(`${RUNNERS}/7`)
      .reply(404, { message: 'Not Found' })
      .delete(`${RUNNERS}/8`)
      .reply(422, { message: 'Bad request - Runner "x" is still running a job"' })
      .delete(`${RUNNERS}/9`)
      .reply(204);

    const gh = await client(r.observer);
    expect([await gh.deleteRunner(REPO, 7), await gh.deleteRunner(REPO, 8), await gh.deleteRunner(REPO, 9)]).toEqual([
      'gone',
      'busy',
      'deleted',
    ]);
    expect(r.results).toEqual([`${REPO} ok`, `${REPO} ok`, `${REPO} ok`]);
  });

  it('a refused connection is unreachable, after the retries, with the network error named', async () => {
    const r = recorder();
    nock(API)
      .get(RUNNERS)
      .query(true)
      .times(4)
      .replyWithError(Object.assign(new Error('connect ECONNREFUSED 140.82.112.6:443'), { code: 'ECONNREFUSED' }));

    const err = await (await client(r.observer)).listRunners(REPO).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 0, kind: 'unreachable' });
    expect((err as Error).message).toMatch(
      /^GitHub unreachable on GET runners for ainative-academy\/aina-platform: ECONNREFUSED/,
    );
    expect(r.calls.map((c) => c.split(' ').pop())).toEqual(['0', '0', '0', '0']);
    expect(r.results).toEqual([`${REPO} unreachable`]);
  });
});

describe('GitHub App auth', () => {
  const keys = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  let dir: string;
  let keyFile: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'factory-app-'));
    keyFile = join(dir, 'app.pem');
    writeFileSync(keyFile, keys.privateKey, { mode: 0o600 });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  // The clock only moves forward in this file: the throttling plugin's Bottleneck keeps its next slot as a timestamp,
  // and a clock set back would hold every later request until the old time came round again.
  afterAll(() => vi.useRealTimers());

  /** True when the bearer JWT is signed by the App's key and names the App as issuer. */
  const signedByApp = (authorization: string | string[] | undefined) => {
    const jwt = String(authorization).replace(/^bearer /i, '');
    const [header, payload, signature] = jwt.split('.') as [string, string, string];
    const ok = verify(
      'RSA-SHA256',
      Buffer.from(`${header}.${payload}`),
      keys.publicKey,
      Buffer.from(signature, 'base64url'),
    );
    return ok && JSON.parse(Buffer.from(payload, 'base64url').toString()).iss === 31337;
  };
  const token = (t: string) => ({
    ...structuredClone(examples.installationToken),
    token: t,
    expires_at: new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d+Z$/, 'Z'),
  });
  const app = () => ({ appId: 31337, privateKeyPath: keyFile });

  it('an App that is not installed on the repo is forbidden there, with the likely cause', async () => {
    const r = recorder();
    nock(API).get(`/repos/${REPO}/installation`).reply(404, { message: 'Not Found' });

    const err = await (await client(r.observer, app())).listRunners(REPO).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 404, kind: 'not_found' });
    expect((err as Error).message).toContain('is the App installed on ainative-academy/aina-platform');
    expect(r.results).toEqual([`${REPO} forbidden`]);
  });

  it('finds the installation with the App JWT, then calls with the installation token, and fetches a new one when it ages out', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    const issued: string[] = [];
    nock(API)
      .get(`/repos/${REPO}/installation`)
      .reply(function () {
        return signedByApp(this.req.headers.authorization)
          ? [200, { ...structuredClone(examples.installation), id: 4242 }]
          : [401, { message: 'A JSON web token could not be decoded' }];
      })
      .post('/app/installations/4242/access_tokens')
      .times(2)
      .reply(function () {
        if (!signedByApp(this.req.headers.authorization)) return [401, { message: 'bad JWT' }];
        issued.push(`ghs_${issued.length + 1}`);
        return documented('POST', '/app/installations/4242/access_tokens', 201, token(issued.at(-1)!));
      });
    nock(API, { reqheaders: { authorization: 'token ghs_1' } })
      .get(RUNNERS)
      .query(true)
      .times(2)
      .reply(200, { total_count: 0, runners: [] });
    nock(API, { reqheaders: { authorization: 'token ghs_2' } })
      .get(RUNNERS)
      .query(true)
      .reply(200, { total_count: 0, runners: [] });

    const gh = await client(undefined, app());
    await gh.listRunners(REPO);
    await gh.listRunners(REPO); // the cached token
    vi.setSystemTime(Date.now() + 60 * 60_000); // past the token's hour
    await gh.listRunners(REPO);
    expect(issued).toEqual(['ghs_1', 'ghs_2']);
  });

  it('the JIT registration uses the installation token the other calls fetched, not one of its own', async () => {
    const issued: string[] = [];
    nock(API)
      .get(`/repos/${REPO}/installation`)
      .reply(200, { ...structuredClone(examples.installation), id: 4242 })
      .post('/app/installations/4242/access_tokens')
      .reply(() => (issued.push('ghs_shared'), [201, token('ghs_shared')]));
    nock(API, { reqheaders: { authorization: 'token ghs_shared' } })
      .get(RUNNERS)
      .query(true)
      .reply(200, { total_count: 0, runners: [] })
      .post(`${RUNNERS}/generate-jitconfig`)
      .reply(201, { runner: runner(8), encoded_jit_config: 'eA==' });

    const gh = await client(undefined, app());
    await gh.listRunners(REPO);
    const jit = await gh.generateJitConfig(REPO, { name: 'r', runner_group_id: 1, labels: ['ci'], work_folder: '_w' });
    expect(jit.runnerId).toBe(8);
    expect(issued).toEqual(['ghs_shared']);
  });

  it('a token revoked before its hour is replaced once, and the call succeeds', async () => {
    const r = recorder();
    nock(API)
      .get(`/repos/${REPO}/installation`)
      .reply(200, { ...structuredClone(examples.installation), id: 4242 })
      .post('/app/installations/4242/access_tokens')
      .reply(201, token('ghs_revoked'))
      .post('/app/installations/4242/access_tokens')
      .reply(201, token('ghs_fresh'));
    nock(API, { reqheaders: { authorization: 'token ghs_revoked' } })
      .get(RUNNERS)
      .query(true)
      .reply(200, { total_count: 0, runners: [] })
      .get(RUNNERS)
      .query(true)
      .reply(401, { message: 'Bad credentials' });
    nock(API, { reqheaders: { authorization: 'token ghs_fresh' } })
      .get(RUNNERS)
      .query(true)
      .reply(200, { total_count: 1, runners: [runner(3)] });

    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    const gh = await client(r.observer, app());
    await gh.listRunners(REPO);
    // Octokit's App auth retries a 401 for 5 s after a token is made (GitHub's replication delay); this one is older.
    vi.setSystemTime(Date.now() + 10 * 60_000);
    expect((await gh.listRunners(REPO)).map((x) => x.id)).toEqual([3]);
    expect(r.results).toEqual([`${REPO} ok`, `${REPO} ok`]);
    expect(r.calls.filter((c) => c.startsWith('GET /repos/{owner}/{repo}/actions/runners'))).toEqual([
      'GET /repos/{owner}/{repo}/actions/runners 200',
      'GET /repos/{owner}/{repo}/actions/runners 401',
      'GET /repos/{owner}/{repo}/actions/runners 200',
    ]);
  });
});
