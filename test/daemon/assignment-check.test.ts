// Which job is entitled to a lane's credentials (pure), and the gate that checks each runner's assignment once:
// duplicates do nothing, a failing run lookup releases nothing and ends in a refusal after its retries.
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../controller/config/config.js';
import {
  AssignmentGate,
  LOOKUP_RETRIES_MS,
  findAssignments,
  judgeJob,
  judgeRun,
  type GateActions,
  type GateRunner,
} from '../../controller/daemon/assignment-check.js';
import { GitHubError, type GitHubApi, type WorkflowRunFacts } from '../../controller/github/github-client.js';
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
  actor: 'octocat',
  triggeringActor: 'octocat',
  ...over,
});

describe('judging an assignment', () => {
  it("entitles a job of the runner's repo that names a label only the lane has, case-insensitively", () => {
    expect(judgeJob(runner, codex, config, { repo: 'Org/App', labels: ['self-hosted', 'CODEX'] })).toEqual({
      entitled: true,
    });
  });

  it("refuses a bare [self-hosted] job, a job of Tier-1 labels, and another repo's job", () => {
    expect(judgeJob(runner, codex, config, { repo: 'org/app', labels: ['self-hosted'] })).toMatchObject({
      entitled: false,
      reason: 'no_lane_label',
    });
    expect(judgeJob(runner, codex, config, { repo: 'org/app', labels: ['self-hosted', 'linux'] })).toMatchObject({
      reason: 'no_lane_label',
      why: expect.stringContaining('(factory, codex)'),
    });
    expect(judgeJob(runner, codex, config, { repo: 'org/other', labels: ['self-hosted', 'codex'] })).toMatchObject({
      reason: 'other_repo',
      why: 'the job belongs to org/other, the runner to org/app',
    });
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

  it('refuses a run Dependabot started or re-ran, as GitHub treats it as untrusted, whatever its event', () => {
    for (const over of [
      { actor: 'dependabot[bot]', triggeringActor: 'dependabot[bot]' },
      { actor: 'Dependabot[bot]', triggeringActor: 'octocat', event: 'push' },
      { actor: 'octocat', triggeringActor: 'dependabot[bot]', event: 'workflow_dispatch' },
    ])
      expect(judgeRun(run(over))).toMatchObject({
        entitled: false,
        reason: 'dependabot',
        why: expect.stringMatching(
          /^workflow run 7 \(\w+\) was started by dependabot\[bot\], which GitHub treats as untrusted$/i,
        ),
      });
    // A person's run, or a bot that is not Dependabot, is judged by the other rules.
    expect(judgeRun(run({ actor: 'renovate[bot]', triggeringActor: 'renovate[bot]' }))).toEqual({ entitled: true });
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

// An org entry serves acme/api-* but not acme/api-legacy with both profiles; acme/tools is a repo entry's.
const orgConfig = configSchema.parse({
  github: { auth: { tokenEnv: 'T' }, webhook: { secret: { env: 'S' } } },
  profiles: {
    ci: { labels: ['self-hosted', 'linux'], image: 'x' },
    codex: {
      labels: ['self-hosted', 'linux', 'factory', 'codex'],
      image: 'x',
      trusted: true,
      lane: 'codex',
      runnerGroup: 'lanes',
    },
    claude: {
      labels: ['self-hosted', 'linux', 'factory', 'claude'],
      image: 'x',
      trusted: true,
      lane: 'claude',
      runnerGroup: 'lanes',
    },
  },
  repos: [{ repo: 'acme/tools', profiles: ['ci'] }],
  orgs: [{ name: 'acme', include: ['api-*'], exclude: ['api-legacy'], profiles: ['ci', 'codex'] }],
});
const orgRunner: GateRunner = {
  runnerName: 'factory-api-one-1-abcdef',
  repo: 'acme/api-one',
  profileName: 'codex',
  profile: orgConfig.profiles.codex!,
  org: 'acme',
};
const LANE = ['self-hosted', 'codex'];

describe('judging an org runner', () => {
  it("entitles a lane job of another repo the org entry serves with the runner's profile", () => {
    for (const repo of ['acme/api-one', 'acme/api-two', 'ACME/Api-Three'])
      expect(judgeJob(orgRunner, orgRunner.profile, orgConfig, { repo, labels: LANE })).toEqual({ entitled: true });
  });

  it('refuses an excluded repo, a repo no pattern includes, a repo entry, another org, and a lane job without its label', () => {
    for (const repo of ['acme/api-legacy', 'acme/web', 'acme/tools', 'other/api-one'])
      expect(judgeJob(orgRunner, orgRunner.profile, orgConfig, { repo, labels: LANE })).toMatchObject({
        entitled: false,
        reason: 'other_repo',
        why: `the job belongs to ${repo}, which no orgs entry of acme serves with profile "codex" (the runner was made for acme/api-one)`,
      });
    expect(
      judgeJob(orgRunner, orgRunner.profile, orgConfig, { repo: 'acme/api-two', labels: ['self-hosted', 'linux'] }),
    ).toMatchObject({ reason: 'no_lane_label' });
  });

  it('refuses a covered repo when the org entry does not list the profile', () => {
    const claude = { ...orgRunner, profileName: 'claude', profile: orgConfig.profiles.claude! };
    expect(
      judgeJob(claude, claude.profile, orgConfig, { repo: 'acme/api-one', labels: ['self-hosted', 'claude'] }),
    ).toMatchObject({ reason: 'other_repo' });
  });

  it('a repo-level runner still serves its own repo only', () => {
    const repoRunner: GateRunner = {
      ...orgRunner,
      repo: 'acme/tools',
      profileName: 'ci',
      profile: orgConfig.profiles.ci!,
    };
    delete repoRunner.org;
    expect(
      judgeJob(repoRunner, repoRunner.profile, orgConfig, { repo: 'acme/api-one', labels: ['self-hosted', 'linux'] }),
    ).toMatchObject({ reason: 'other_repo', why: 'the job belongs to acme/api-one, the runner to acme/tools' });
  });

  it("looks the run up in the job's repo, not the runner's, and refuses a fork's run there", async () => {
    const lookups: string[] = [];
    const events: string[] = [];
    const g = new AssignmentGate(
      {
        github: {
          listRunningJobs: async (repo: string) => (
            lookups.push(`jobs ${repo}`),
            [{ id: 21, runId: 31, labels: LANE, runnerName: orgRunner.runnerName }]
          ),
          getWorkflowRun: async (repo: string, id: number) => (
            lookups.push(`run ${repo} ${id}`),
            run({ id, repo, headRepo: id === 32 ? 'mallory/api-two' : repo })
          ),
        } as unknown as GitHubApi,
        log: silentLogger(),
        config: () => orgConfig,
        sleep: async () => {},
      },
      {
        release: async (_r, job) => void events.push(`release ${job.repo} ${job.jobId} run ${job.runId}`),
        refuse: (_r, job, verdict) => void events.push(`refuse ${job.repo} ${job.jobId} ${verdict.reason}`),
        live: () => true,
        releasedBefore: async () => undefined,
      },
    );
    await g.assigned(orgRunner, { repo: 'acme/api-two', jobId: 21, labels: LANE });
    await g.assigned({ ...orgRunner, runnerName: 'r2' }, { repo: 'acme/api-two', jobId: 22, runId: 32, labels: LANE });
    expect(lookups).toEqual(['jobs acme/api-two', 'run acme/api-two 31', 'run acme/api-two 32']);
    expect(events).toEqual(['release acme/api-two 21 run 31', 'refuse acme/api-two 22 fork']);
  });
});

describe('the poll for lost deliveries', () => {
  /** GitHub as the poll sees it: org and repo runner lists, the org's repos, and each repo's running jobs. */
  function pollGitHub(opts: {
    orgRunners: Array<{ name: string; busy: boolean }>;
    repoRunners?: Record<string, Array<{ name: string; busy: boolean }>>;
    running: Record<string, Array<{ id: number; runnerName: string }>>;
    fail?: (call: string) => Error | undefined;
  }) {
    const calls: string[] = [];
    const call = async <T>(name: string, value: T): Promise<T> => {
      calls.push(name);
      const err = opts.fail?.(name);
      if (err) throw err;
      return value;
    };
    const info = (r: { name: string; busy: boolean }, i: number) => ({ id: i + 1, status: 'online', ...r });
    const github = {
      listRunners: (repo: string) => call(`runners ${repo}`, (opts.repoRunners?.[repo] ?? []).map(info)),
      listRunningJobs: (repo: string) =>
        call(
          `running ${repo}`,
          (opts.running[repo] ?? []).map((j) => ({ ...j, runId: j.id + 1000, labels: LANE })),
        ),
      org: {
        listRunners: (org: string) => call(`org runners ${org}`, opts.orgRunners.map(info)),
        listRepos: (org: string) =>
          call(
            `org repos ${org}`,
            ['api-one', 'api-two', 'api-three', 'api-legacy', 'web', 'api-old'].map((n) => ({
              fullName: `${org}/${n}`,
              private: false,
              archived: n === 'api-old',
            })),
          ),
      },
    } as unknown as GitHubApi;
    return { github, calls };
  }
  const polled = (name: string, repo = 'acme/api-one') => ({
    runnerName: name,
    repo,
    profileName: 'codex',
    org: 'acme',
  });

  it("finds a busy org runner's job in another covered repo, searching its own repo first and stopping once found", async () => {
    const t = pollGitHub({
      orgRunners: [
        { name: 'a', busy: true },
        { name: 'idle', busy: false },
      ],
      running: { 'acme/api-two': [{ id: 5, runnerName: 'a' }], 'acme/api-three': [{ id: 6, runnerName: 'x' }] },
    });
    const found = await findAssignments(t.github, orgConfig, [polled('a'), polled('idle')], silentLogger());
    expect(found).toEqual([{ repo: 'acme/api-two', jobId: 5, runId: 1005, labels: LANE, runnerName: 'a' }]);
    expect(t.calls).toEqual(['org runners acme', 'org repos acme', 'running acme/api-one', 'running acme/api-two']);
  });

  it('never searches a repo the org entry does not serve with the profile (excluded, uncovered, archived, a repo entry)', async () => {
    const t = pollGitHub({
      orgRunners: [{ name: 'a', busy: true }],
      running: { 'acme/api-legacy': [{ id: 5, runnerName: 'a' }], 'acme/web': [{ id: 6, runnerName: 'a' }] },
    });
    expect(await findAssignments(t.github, orgConfig, [polled('a')], silentLogger())).toEqual([]);
    expect(t.calls.filter((c) => c.startsWith('running')).sort()).toEqual([
      'running acme/api-one',
      'running acme/api-three',
      'running acme/api-two',
    ]);
  });

  it('asks nothing beyond the runner list while no polled org runner is busy', async () => {
    const t = pollGitHub({ orgRunners: [{ name: 'a', busy: false }], running: {} });
    expect(await findAssignments(t.github, orgConfig, [polled('a')], silentLogger())).toEqual([]);
    expect(t.calls).toEqual(['org runners acme']);
  });

  it('a repo runner is looked for in its own repo only', async () => {
    const t = pollGitHub({
      orgRunners: [],
      repoRunners: { 'acme/tools': [{ name: 'r', busy: true }] },
      running: { 'acme/tools': [{ id: 9, runnerName: 'r' }] },
    });
    const found = await findAssignments(
      t.github,
      orgConfig,
      [{ runnerName: 'r', repo: 'acme/tools', profileName: 'ci' }],
      silentLogger(),
    );
    expect(found.map((f) => [f.repo, f.jobId])).toEqual([['acme/tools', 9]]);
    expect(t.calls).toEqual(['runners acme/tools', 'running acme/tools']);
  });

  it('a rate-limited GitHub ends the pass; a plain failure skips only its scope', async () => {
    const limited = new GitHubError(403, 'GET runs', 'acme/api-one', 'API rate limit exceeded', 'rate_limited');
    const t = pollGitHub({
      orgRunners: [{ name: 'a', busy: true }],
      repoRunners: { 'acme/tools': [{ name: 'r', busy: true }] },
      running: { 'acme/tools': [{ id: 9, runnerName: 'r' }] },
      fail: (c) => (c === 'running acme/api-one' ? limited : undefined),
    });
    const runners = [polled('a'), { runnerName: 'r', repo: 'acme/tools', profileName: 'ci' }];
    expect(await findAssignments(t.github, orgConfig, runners, silentLogger())).toEqual([]);
    expect(t.calls).toEqual(['org runners acme', 'org repos acme', 'running acme/api-one']);

    const u = pollGitHub({
      orgRunners: [{ name: 'a', busy: true }],
      repoRunners: { 'acme/tools': [{ name: 'r', busy: true }] },
      running: { 'acme/tools': [{ id: 9, runnerName: 'r' }] },
      fail: (c) => (c === 'org repos acme' ? new Error('GitHub 502') : undefined),
    });
    expect((await findAssignments(u.github, orgConfig, runners, silentLogger())).map((f) => f.jobId)).toEqual([9]);
  });
});
