// Honest health: a controller whose token GitHub rejects, or whose GitHub answers only errors, says so on /healthz,
// /status, `factory status` and /metrics; its ports open before the first GitHub check, which runs repos in parallel.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../controller/commands/cli.js';
import { configSchema } from '../../controller/config/config.js';
import { startService, type Service } from '../../controller/daemon/service.js';
import { silentLogger } from '../../controller/observe/logger.js';
import { assertResponse } from '../support/openapi.js';

const REPOS = ['factory-test/health-one', 'factory-test/health-two'];
let github: Server | undefined;
let service: Service | undefined;
let stateDir: string | undefined;
afterEach(async () => {
  await service?.stop();
  await new Promise<void>((r) => (github ? github.close(() => r()) : r()));
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  github = service = stateDir = undefined;
});

/** A loopback GitHub that gives every request the same answer, and records the repos asked about in order. */
async function fakeGitHub(status: number, body: Record<string, unknown>): Promise<{ url: string; asked: string[] }> {
  const asked: string[] = [];
  github = createServer((req, res) => {
    asked.push(/^\/repos\/([^/]+\/[^/]+)/.exec(req.url ?? '')?.[1] ?? req.url ?? '');
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((r) => github!.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(github.address() as { port: number }).port}`, asked };
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function config(apiUrl: string, port = 0) {
  stateDir = mkdtempSync(join(tmpdir(), 'factory-health-'));
  return configSchema.parse({
    github: {
      apiUrl,
      auth: { tokenEnv: 'GH_TOKEN' },
      webhook: { host: '127.0.0.1', port, secret: { env: 'WEBHOOK_SECRET' } },
    },
    instance: `test-${randomBytes(4).toString('hex')}`,
    reconcileInterval: '1h',
    stateDir,
    status: { port: 0 },
    profiles: { ci: { labels: ['self-hosted', 'factory', 'ci'], image: 'factory-test/none:0' } },
    repos: REPOS.map((repo) => ({ repo, profiles: ['ci'] })),
  });
}

const env = { GH_TOKEN: 'ghp_rejected', WEBHOOK_SECRET: randomBytes(16).toString('hex') };
const json = async (url: string) => {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, any> };
};

describe('GitHub health', () => {
  it("a token GitHub rejects shows as unauthorised everywhere, with each repo's last error", async () => {
    const rejected = { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' };
    assertResponse('GET', `/repos/${REPOS[0]}/actions/runners`, 401, rejected);
    const gh = await fakeGitHub(401, rejected);
    service = await startService({
      config: config(gh.url),
      log: silentLogger(),
      env,
      githubOptions: { retryAfterBaseValue: 10 },
    });

    // Degraded, not dead: a restart cannot fix GitHub's answer, so a supervisor must not be told to restart.
    expect(await json(`${service.url}/healthz`)).toEqual({
      status: 200,
      body: { status: 'degraded', docker: 'up', github: 'unauthorised', queued: 0, running: 0 },
    });
    const status = await json(`${service.statusUrl}/status`);
    expect(status.body.github.state).toBe('unauthorised');
    expect(
      status.body.github.repos.map((r: { repo: string; state: string; lastError: string }) => [
        r.repo,
        r.state,
        r.lastError,
      ]),
    ).toEqual(
      REPOS.map((repo) => [
        repo,
        'unauthorised',
        `GitHub 401 on GET runners for ${repo}: Bad credentials - https://docs.github.com/rest`,
      ]),
    );

    const out: string[] = [];
    expect(
      await main(['status', '--url', service.statusUrl], { stdout: (s) => out.push(s), stderr: (s) => out.push(s) }),
    ).toBe(0);
    expect(out.join('\n')).toContain('github unauthorised');
    expect(out.join('\n')).toMatch(new RegExp(`${REPOS[0]}\\s+unauthorised\\s+\\d+s ago\\s+\\d+s ago: GitHub 401`));

    const metrics = await (await fetch(`${service.statusUrl}/metrics`)).text();
    expect(metrics).toContain(`factory_github_state{repo="${REPOS[0]}",state="unauthorised"} 1`);
    // This GitHub sent no x-ratelimit-remaining: the gauge stays absent rather than reading 0.
    expect(metrics).not.toMatch(/^factory_github_rate_limit_remaining /m);
  });

  it('opens its ports before the first GitHub check, checks repos in parallel, and reports GitHub unreachable', async () => {
    const gh = await fakeGitHub(502, { message: 'Server Error' });
    const port = await freePort();
    // 1 + 4 + 9 retry units of 100 ms per repo: long enough to ask /healthz while the check is still going.
    const starting = startService({
      config: config(gh.url, port),
      log: silentLogger(),
      env,
      githubOptions: { retryAfterBaseValue: 100 },
    });
    let during: { status: number; body: Record<string, any> } | undefined;
    for (let i = 0; i < 100 && !during; i++) {
      during = await json(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
      if (!during) await new Promise((r) => setTimeout(r, 20));
    }
    service = await starting;

    expect(during).toEqual({ status: 200, body: expect.objectContaining({ github: 'unknown' }) });
    // Both repos were asked before either was retried: one repo's retries do not hold up the other.
    expect(new Set(gh.asked.slice(0, 2))).toEqual(new Set(REPOS));
    expect(await json(`http://127.0.0.1:${port}/healthz`)).toEqual({
      status: 200,
      body: expect.objectContaining({ status: 'degraded', github: 'unreachable' }),
    });
    const status = await json(`${service.statusUrl}/status`);
    expect(status.body.github.repos.map((r: { state: string }) => r.state)).toEqual(['unreachable', 'unreachable']);
  });
});
