// An org entry end to end on the local engine: the stand-in plays an organisation with repos and runner groups, the
// controller serves the repos the entry's patterns cover with org-level JIT runners in the profile's runner group.
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { GitHubStandin } from '../../controller/github/standin/github-standin.js';
import { runnerName } from '../../controller/daemon/runner-spec.js';
import { CI_LABELS, startHarness, waitFor, type Harness } from '../support/harness.js';

let h: Harness | undefined;
let github: GitHubStandin | undefined;
afterEach(async () => {
  await h?.stop();
  await github?.stop();
  h = undefined;
  github = undefined;
});

const GROUP = 'factory-runners';

/** An org with a served repo, a repo the patterns leave out, an excluded one, and a group open to `selected` only. */
async function orgHarness(opts: { runnerGroup?: string; selected?: string[]; jobSeconds?: number } = {}) {
  const org = `factory-org-${randomBytes(3).toString('hex')}`;
  github = new GitHubStandin({ jobSeconds: opts.jobSeconds ?? 1 });
  await github.start();
  const groups = github.addOrg(org, {
    repos: [{ name: 'api-one' }, { name: 'api-two', private: true }, { name: 'api-legacy' }, { name: 'web' }],
    groups: [{ name: GROUP, visibility: 'selected', selected: opts.selected ?? ['api-one'] }],
  });
  h = await startHarness({
    standin: github,
    profile: { runnerGroup: opts.runnerGroup ?? GROUP },
    orgs: [{ name: org, include: ['api-*'], exclude: ['api-legacy'], profiles: ['ci'] }],
  });
  return { org, groups, h, github };
}

const calls = (gh: GitHubStandin, method: string, path: RegExp) =>
  gh.exchanges.filter((x) => x.method === method && path.test(x.path));

describe('org entries end to end', () => {
  it('serves a covered repo with an org JIT runner in the named group, ignores the others, removes its runner', async () => {
    const { org, groups, h, github } = await orgHarness();
    const ignored = await github.queueJob(`${org}/web`, CI_LABELS);
    const excluded = await github.queueJob(`${org}/api-legacy`, CI_LABELS);
    const served = await github.queueJob(`${org}/api-one`, CI_LABELS);

    await waitFor(
      'the served job to finish and its runner to be cleaned up',
      async () =>
        github.jobs.get(served)?.status === 'completed' &&
        h.service.controller.snapshot().runners.length === 0 &&
        (await h.containers()).length === 0,
      40_000,
    );

    const jit = calls(github, 'POST', /generate-jitconfig$/);
    expect(jit.map((x) => [x.path, (x.requestBody as { runner_group_id: number }).runner_group_id])).toEqual([
      [`/orgs/${org}/actions/runners/generate-jitconfig`, groups[GROUP]],
    ]);
    const jobs = await fetch(`${github.url}/repos/${org}/api-one/actions/runs/${github.jobs.get(served)!.runId}/jobs`, {
      headers: { authorization: 'token x' },
    }).then((r) => r.json() as Promise<{ jobs: Array<{ runner_group_name: string; conclusion: string }> }>);
    expect(jobs.jobs[0]).toMatchObject({ runner_group_name: GROUP, conclusion: 'success' });
    expect(github.runners.size).toBe(0);
    // Both were queued before the served one, and GitHub hands a runner the oldest job it covers: only the runner
    // group (selected: api-one) kept them off our runner.
    expect([ignored, excluded].map((id) => github.jobs.get(id)!.status)).toEqual(['queued', 'queued']);

    // The poll lists the org's repos and asks only the covered ones for queued runs; the others stay untouched.
    await h.service.reconciler.runOnce();
    expect(calls(github, 'GET', new RegExp(`^/orgs/${org}/repos$`))).not.toHaveLength(0);
    expect(calls(github, 'GET', new RegExp(`^/orgs/${org}/actions/runners$`))).not.toHaveLength(0);
    const polled = new Set(calls(github, 'GET', /\/actions\/runs$/).map((x) => x.path.split('/')[3]));
    expect([...polled].sort()).toEqual(['api-one', 'api-two']);
    expect(calls(github, 'POST', /generate-jitconfig$/)).toHaveLength(1);
    expect(calls(github, 'POST', /^\/repos\//)).toEqual([]);
  });

  it('picks up a covered repo job no webhook announced, through the org poll', async () => {
    const { org, h, github } = await orgHarness();
    const jobId = await github.queueJob(`${org}/api-one`, CI_LABELS, { announce: false });
    await h.service.reconciler.runOnce();

    await waitFor(
      'the job to finish',
      () => github.jobs.get(jobId)?.status === 'completed' && h.service.controller.snapshot().runners.length === 0,
      40_000,
    );
  });

  it('adopts a running org runner after a restart and sweeps only its own offline org runners', async () => {
    const { org, h, github } = await orgHarness({ jobSeconds: 4 });
    const jobId = await github.queueJob(`${org}/api-one`, CI_LABELS);
    await waitFor('the job to start', () => github.jobs.get(jobId)?.status === 'in_progress');
    await h.restart();

    const adopted = h.service.controller.snapshot().runners;
    expect(adopted.map((r) => [r.identity.org, r.identity.repo])).toEqual([[org, `${org}/api-one`]]);

    const register = async (name: string) => {
      const res = await fetch(`${github.url}/orgs/${org}/actions/runners/generate-jitconfig`, {
        method: 'POST',
        headers: { authorization: 'token x', 'content-type': 'application/json' },
        body: JSON.stringify({ name, runner_group_id: 1, labels: CI_LABELS }),
      });
      return ((await res.json()) as { runner: { id: number } }).runner.id;
    };
    const orphan = await register(runnerName(`${org}/api-one`, 7, h.config.instance, 'abcdef'));
    const otherInstance = await register(runnerName(`${org}/api-one`, 8, 'staging', 'abcdef'));
    const uncovered = await register(runnerName(`${org}/web`, 9, h.config.instance, 'abcdef'));
    await h.service.reconciler.runOnce();
    expect(github.runners.has(orphan)).toBe(false);
    expect([otherInstance, uncovered].map((id) => github.runners.has(id))).toEqual([true, true]);
    expect(calls(github, 'DELETE', /\/actions\/runners\/\d+$/).map((x) => x.path)).toEqual([
      `/orgs/${org}/actions/runners/${orphan}`,
    ]);

    await waitFor(
      'the adopted job to finish and be cleaned up',
      async () =>
        github.jobs.get(jobId)?.status === 'completed' &&
        h.service.controller.snapshot().runners.length === 0 &&
        (await h.containers()).length === 0,
      40_000,
    );
    expect(calls(github, 'DELETE', /^\/repos\//)).toEqual([]);
  });

  it('fails a job with a located error when the runner group does not exist, and registers nothing', async () => {
    const { org, h, github } = await orgHarness({ runnerGroup: 'no-such-group' });
    await github.queueJob(`${org}/api-one`, CI_LABELS);

    await waitFor('the failure', () => h.stages.some((s) => s.stage === 'failed'));
    expect(h.service.controller.snapshot().lastError).toContain(
      `profiles.ci.runnerGroup: runner group "no-such-group" does not exist in organisation ${org} (its groups: Default, ${GROUP})`,
    );
    expect(calls(github, 'POST', /generate-jitconfig$/)).toEqual([]);
    expect(await h.containers()).toHaveLength(0);
  });

  it('fails a job with a located error when the group does not admit its repo', async () => {
    const { org, h, github } = await orgHarness({ selected: ['api-one'] });
    await github.queueJob(`${org}/api-two`, CI_LABELS);

    await waitFor('the failure', () => h.stages.some((s) => s.stage === 'failed'));
    expect(h.service.controller.snapshot().lastError).toContain(
      `profiles.ci.runnerGroup: runner group "${GROUP}" of organisation ${org} does not admit ${org}/api-two: it is open to selected repositories only`,
    );
    expect(calls(github, 'POST', /generate-jitconfig$/)).toEqual([]);
    expect(github.runners.size).toBe(0);
    expect(await h.containers()).toHaveLength(0);
  });
});
