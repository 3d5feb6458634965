import { describe, expect, it } from 'vitest';
import { GitHubStandin } from '../../controller/github/standin/github-standin.js';
import { assertRequest, assertResponse } from '../support/openapi.js';

describe('OpenAPI validator', () => {
  it('accepts a JIT config request shaped like the documented one', () => {
    expect(() =>
      assertRequest('POST', '/repos/o/r/actions/runners/generate-jitconfig', {
        name: 'x',
        runner_group_id: 1,
        labels: ['self-hosted'],
        work_folder: '_work',
      }),
    ).not.toThrow();
  });

  it('rejects a JIT config request without labels', () => {
    expect(() =>
      assertRequest('POST', '/repos/o/r/actions/runners/generate-jitconfig', { name: 'x', runner_group_id: 1 }),
    ).toThrow(/labels/);
  });

  it('rejects a runner list response whose runner lacks status', () => {
    const runner = { id: 1, name: 'r', os: 'linux', busy: false, labels: [] };
    expect(() =>
      assertResponse('GET', '/repos/o/r/actions/runners', 200, { total_count: 1, runners: [runner] }),
    ).toThrow(/status/);
  });

  it('rejects a status the operation does not document', () => {
    expect(() => assertResponse('DELETE', '/repos/o/r/actions/runners/5', 418, undefined)).toThrow(/418/);
  });

  it('checks the org routes too: the org JIT request, and the runner groups answer', () => {
    expect(() =>
      assertRequest('POST', '/orgs/acme/actions/runners/generate-jitconfig', { name: 'x', runner_group_id: 2 }),
    ).toThrow(/labels/);
    expect(() =>
      assertResponse('GET', '/orgs/acme/actions/runner-groups', 200, { total_count: 1, runner_groups: [{ id: 1 }] }),
    ).toThrow(/name/);
  });
});

describe('the stand-in workflow run', () => {
  it("serves GET /repos/{owner}/{repo}/actions/runs/{run_id} in GitHub's shape, a fork's run with the fork as head repository", async () => {
    const standin = new GitHubStandin();
    await standin.start();
    try {
      const own = await standin.queueJob('octo/app', ['self-hosted'], { announce: false });
      const fork = await standin.queueJob('octo/app', ['self-hosted'], {
        announce: false,
        event: 'pull_request',
        headRepo: 'mallory/app',
      });
      const get = async (path: string) => {
        const res = await fetch(`${standin.url}${path}`, { headers: { authorization: 'token x' } });
        return { status: res.status, body: (await res.json()) as Record<string, any> };
      };
      const ownRun = await get(`/repos/octo/app/actions/runs/${standin.jobs.get(own)!.runId}`);
      const forkRun = await get(`/repos/octo/app/actions/runs/${standin.jobs.get(fork)!.runId}`);
      const missing = await get('/repos/octo/app/actions/runs/1');
      for (const [path, r] of [
        [`/repos/octo/app/actions/runs/${standin.jobs.get(own)!.runId}`, ownRun],
        [`/repos/octo/app/actions/runs/${standin.jobs.get(fork)!.runId}`, forkRun],
        ['/repos/octo/app/actions/runs/1', missing],
      ] as const)
        expect(() => assertResponse('GET', path, r.status, r.body)).not.toThrow();
      expect(ownRun.body).toMatchObject({
        event: 'push',
        status: 'queued',
        repository: { full_name: 'octo/app' },
        head_repository: { full_name: 'octo/app' },
      });
      expect(forkRun.body).toMatchObject({
        event: 'pull_request',
        repository: { full_name: 'octo/app', owner: { login: 'octo' } },
        head_repository: { full_name: 'mallory/app', owner: { login: 'mallory' } },
      });
      expect(missing.status).toBe(404);
    } finally {
      await standin.stop();
    }
  });

  it("serves a Dependabot run with dependabot[bot] as its actor, in GitHub's shape", async () => {
    const standin = new GitHubStandin();
    await standin.start();
    try {
      const id = await standin.queueJob('octo/app', ['self-hosted'], {
        announce: false,
        event: 'pull_request',
        actor: 'dependabot[bot]',
      });
      const path = `/repos/octo/app/actions/runs/${standin.jobs.get(id)!.runId}`;
      const res = await fetch(`${standin.url}${path}`, { headers: { authorization: 'token x' } });
      const body = (await res.json()) as Record<string, any>;
      expect(() => assertResponse('GET', path, res.status, body)).not.toThrow();
      expect(body).toMatchObject({
        actor: { login: 'dependabot[bot]', type: 'Bot' },
        triggering_actor: { login: 'dependabot[bot]', type: 'Bot' },
      });
    } finally {
      await standin.stop();
    }
  });

  it('rejects a run without head_repository shape', () => {
    expect(() =>
      assertResponse('GET', '/repos/o/r/actions/runs/5', 200, { id: 5, event: 'push', head_repository: 'o/r' }),
    ).toThrow();
  });
});
