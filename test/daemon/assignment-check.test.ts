// Which job is entitled to a lane's credentials (pure), and the gate that checks each runner's assignment once:
// duplicates do nothing, a failing run lookup releases nothing and ends in a refusal after its retries.
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../controller/config/config.js';
import {
  AssignmentGate,
  LOOKUP_RETRIES_MS,
  judgeJob,
  judgeRun,
  type GateActions,
  type GateRunner,
} from '../../controller/daemon/assignment-check.js';
import type { GitHubApi, WorkflowRunFacts } from '../../controller/github/github-client.js';
import { silentLogger } from '../../controller/observe/logger.js';

const config = configSchema.parse({
  github: { auth: { tokenEnv: 'T' }, webhook: { secret: { env: 'S' } } },
  profiles: {
    ci: { labels: ['self-hosted', 'linux'], image: 'x' },
    codex: { labels: ['self-hosted', 'linux', 'factory', 'codex'], image: 'x', trusted: true, lane: 'codex' },
  },
  repos: [{ repo: 'org/app', profiles: ['ci', 'codex'] }],
});
const codex = config.profiles.codex!;
const runner: GateRunner = {
  runnerName: 'factory-app-1-abcdef',
  repo: 'org/app',
  profileName: 'codex',
  profile: codex,
};
const run = (over: Partial<WorkflowRunFacts> = {}): WorkflowRunFacts => ({
  id: 7,
  event: 'pull_request',
  repo: 'org/app',
  headRepo: 'org/app',
  ...over,
});

describe('judging an assignment', () => {
  it("entitles a job of the runner's repo that names a label only the lane has, case-insensitively", () => {
    expect(judgeJob(runner, codex, config.profiles, { repo: 'Org/App', labels: ['self-hosted', 'CODEX'] })).toEqual({
      entitled: true,
    });
  });

  it("refuses a bare [self-hosted] job, a job of Tier-1 labels, and another repo's job", () => {
    expect(judgeJob(runner, codex, config.profiles, { repo: 'org/app', labels: ['self-hosted'] })).toMatchObject({
      entitled: false,
      reason: 'no_lane_label',
    });
    expect(
      judgeJob(runner, codex, config.profiles, { repo: 'org/app', labels: ['self-hosted', 'linux'] }),
    ).toMatchObject({ reason: 'no_lane_label', why: expect.stringContaining('(factory, codex)') });
    expect(
      judgeJob(runner, codex, config.profiles, { repo: 'org/other', labels: ['self-hosted', 'codex'] }),
    ).toMatchObject({ reason: 'other_repo', why: 'the job belongs to org/other, the runner to org/app' });
  });

  it("refuses a fork's run, pull_request_target, and a run whose head repository GitHub does not name", () => {
    expect(judgeRun(run())).toEqual({ entitled: true });
    expect(judgeRun(run({ event: 'push', headRepo: 'ORG/app' }))).toEqual({ entitled: true });
    expect(judgeRun(run({ headRepo: 'mallory/app' }))).toMatchObject({ entitled: false, reason: 'fork' });
    expect(judgeRun(run({ headRepo: null }))).toMatchObject({
      reason: 'fork',
      why: expect.stringContaining('unknown'),
    });
    expect(judgeRun(run({ event: 'pull_request_target' }))).toMatchObject({ reason: 'pull_request_target' });
  });
});

function gate(github: Partial<GitHubApi>, releasedBefore?: number, live: () => boolean = () => true) {
  const events: string[] = [];
  const sleeps: number[] = [];
  const actions: GateActions = {
    release: async (_r, job) => void events.push(`release ${job.jobId} run ${job.runId}`),
    refuse: (_r, job, verdict) => void events.push(`refuse ${job.jobId} ${verdict.reason}`),
    live,
    releasedBefore: async () => releasedBefore,
  };
  const g = new AssignmentGate(
    {
      github: github as GitHubApi,
      log: silentLogger(),
      config: () => config,
      sleep: async (ms) => void sleeps.push(ms),
    },
    actions,
  );
  return { g, events, sleeps };
}

describe('the assignment gate', () => {
  const job = { repo: 'org/app', jobId: 11, runId: 7, labels: ['self-hosted', 'codex'] };

  it('releases once, however often GitHub reports the same assignment', async () => {
    let lookups = 0;
    const t = gate({ getWorkflowRun: async () => (lookups++, run()) });
    await Promise.all([t.g.assigned(runner, job), t.g.assigned(runner, job)]);
    await t.g.assigned(runner, job);
    await t.g.assigned(runner, { ...job, jobId: 12 }); // a confused late report of another job changes nothing
    expect(t.events).toEqual(['release 11 run 7']);
    expect(lookups).toBe(1);
    expect(t.g.released(runner.runnerName)).toBe(true);
  });

  it('a runner that went away during the lookup is checked again when it comes back (adopted after an outage)', async () => {
    let up = false;
    const t = gate({ getWorkflowRun: async () => run() }, undefined, () => up);
    await t.g.assigned(runner, job); // dropped while Docker was down: no verdict
    expect(t.events).toEqual([]);
    expect(t.g.settled(runner.runnerName)).toBe(false);
    up = true; // adopted when Docker answered; the poll reports its job again
    await t.g.assigned(runner, job);
    expect(t.events).toEqual(['release 11 run 7']);
  });

  it('refuses without a lookup when the job alone says no', async () => {
    const t = gate({ getWorkflowRun: async () => expect.fail('no lookup needed') });
    await t.g.assigned(runner, { ...job, labels: ['self-hosted'] });
    expect(t.events).toEqual(['refuse 11 no_lane_label']);
  });

  it('finds the run id from the running jobs when the delivery had none', async () => {
    const t = gate({
      listRunningJobs: async () => [{ id: 11, runId: 9, labels: job.labels, runnerName: runner.runnerName }],
      getWorkflowRun: async (_repo, id) => run({ id }),
    });
    await t.g.assigned(runner, { repo: job.repo, jobId: 11, labels: job.labels });
    expect(t.events).toEqual(['release 11 run 9']);
  });

  it('retries a failing lookup, releases nothing meanwhile, and releases when GitHub answers', async () => {
    let calls = 0;
    const t = gate({
      getWorkflowRun: async () => {
        if (++calls < 3) throw new Error('GitHub 502 on GET run for org/app');
        return run();
      },
    });
    await t.g.assigned(runner, job);
    expect(t.sleeps).toEqual(LOOKUP_RETRIES_MS.slice(0, 2));
    expect(t.events).toEqual(['release 11 run 7']);
  });

  it('fails closed: a lookup that never succeeds ends in a refusal, never a release', async () => {
    const t = gate({
      getWorkflowRun: async () => {
        throw new Error('GitHub unreachable');
      },
    });
    await t.g.assigned(runner, job);
    expect(t.sleeps).toEqual(LOOKUP_RETRIES_MS);
    expect(t.events).toEqual(['refuse 11 lookup_failed']);
  });

  it('does not release again what a previous controller released for this job', async () => {
    const t = gate({ getWorkflowRun: async () => expect.fail('no lookup needed') }, 11);
    await t.g.assigned(runner, job);
    expect(t.events).toEqual([]);
    expect(t.g.released(runner.runnerName)).toBe(true);
  });
});
