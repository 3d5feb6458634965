// The controller's side of a lane runner's assignment, through its own seam: which runners the poll asks GitHub
// about, and what a refusal asks of the controller (once, however often GitHub reports the job).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../controller/config/config.js';
import type { Assignment } from '../../controller/daemon/assignment-check.js';
import { LaneAssignments, type Refusal } from '../../controller/daemon/lane-assignments.js';
import { RunnerBook } from '../../controller/daemon/runner-book.js';
import type { RunnerEvent } from '../../controller/daemon/runner-lifecycle.js';
import type { GitHubApi, RunnerInfo, RunningJob } from '../../controller/github/github-client.js';
import type { JobStage } from '../../controller/model/job.js';
import { UNRELEASED_LIMIT_MS } from '../../controller/lanes/unreleased-runners.js';
import { silentLogger } from '../../controller/observe/logger.js';

const REPO = 'org/app';
const LANE = ['self-hosted', 'factory', 'codex'];
let stateDir: string | undefined;
afterEach(() => {
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  stateDir = undefined;
});

type Kind = 'started' | 'launching' | 'cleaning' | 'refused';

/** The events that bring a runner of `profileName` to `kind`: started (busy at GitHub), still launching, being
 * cleaned up, or refused with its cleanup failed. */
function record(name: string, profileName: string, kind: Kind = 'started'): RunnerEvent[] {
  const identity = { instance: 'mem', repo: REPO, profileName, jobId: 0, runnerId: 1, runnerName: name };
  const begun: RunnerEvent = { kind: 'launch-begun', identity, slot: { key: name, limits: [] }, at: 0 };
  if (kind === 'launching') return [begun, { kind: 'listed-busy', name }];
  const started: RunnerEvent[] = [
    begun,
    {
      kind: 'launch-answered',
      name,
      outcome: { kind: 'container', containerId: `c-${name}`, at: 0, exitedEarly: false },
    },
    { kind: 'listed-busy', name },
  ];
  if (kind === 'cleaning') return [...started, { kind: 'cleanup-asked', name, reason: 'exited' }];
  if (kind === 'refused')
    return [
      ...started,
      { kind: 'refused', name, reason: 'refused before' },
      { kind: 'cleanup-ended', name, outcome: { kind: 'failed' }, at: 0 },
    ];
  return started;
}

/** Lane assignments over a book of `records`; GitHub shows every runner busy, each with job 100 + its index. */
function world(records: RunnerEvent[][], opts: { jobsFound?: boolean; lookupHangs?: boolean } = {}) {
  let clock = 0;
  stateDir = mkdtempSync(join(tmpdir(), 'factory-assignments-'));
  const config = configSchema.parse({
    github: { auth: { tokenEnv: 'T' }, webhook: { secret: { env: 'S' } } },
    instance: 'mem',
    stateDir,
    profiles: {
      ci: { labels: ['self-hosted', 'factory', 'ci'], image: 'x', network: 'none' },
      codex: { labels: LANE, image: 'x', network: 'none', trusted: true },
    },
    repos: [{ repo: REPO, profiles: ['ci', 'codex'] }],
  });
  const book = new RunnerBook();
  for (const r of records) for (const e of r) book.apply(e);
  const runners = records.map((r) =>
    book.get((r[0] as Extract<RunnerEvent, { kind: 'launch-begun' }>).identity.runnerName)!,
  );
  const asked: string[] = [];
  const github: Partial<GitHubApi> = {
    listRunners: async (repo) => {
      asked.push(`runners ${repo}`);
      return runners.map((r, i): RunnerInfo => ({
        id: i + 1,
        name: r.identity.runnerName,
        status: 'online',
        busy: true,
      }));
    },
    listRunningJobs: async (repo) => {
      asked.push(`running ${repo}`);
      if (opts.jobsFound === false) return [];
      return runners.map((r, i): RunningJob => ({
        id: 100 + i,
        runId: 7,
        labels: LANE,
        runnerName: r.identity.runnerName,
      }));
    },
    getWorkflowRun: opts.lookupHangs
      ? () => new Promise<never>(() => {})
      : async () => expect.fail('a refusal by the job alone needs no run lookup'),
  };
  const stages: Array<{ jobId: number; stage: JobStage; reason?: string }> = [];
  const checks: Array<Promise<Refusal | undefined>> = [];
  const assignments = new LaneAssignments({
    github: github as GitHubApi,
    log: silentLogger(),
    observer: {
      stage: (jobId, stage, f) => void stages.push({ jobId, stage, ...(f.reason ? { reason: f.reason } : {}) }),
    },
    config: () => config,
    now: () => clock,
    book,
  });
  /** What the controller does with a job GitHub reports on a runner: check it, keeping the check. */
  const check = (name: string, assignment: Assignment) => {
    const c = assignments.check(book.get(name)!, assignment);
    if (c) checks.push(c);
  };
  return { assignments, book, asked, stages, checks, check, at: (ms: number) => void (clock = ms) };
}

describe('lane assignments', () => {
  it('the poll asks only about started lane runners whose assignment is unknown, and returns each job found', async () => {
    const w = world([
      record('lane-started', 'codex'),
      record('lane-launching', 'codex', 'launching'),
      record('ci-started', 'ci'),
      record('lane-cleaning', 'codex', 'cleaning'),
      record('lane-refused', 'codex', 'refused'),
    ]);

    const found = await w.assignments.pollOnce();
    expect(found.map((f) => `started ${f.jobId} on ${f.runnerName}`)).toEqual(['started 100 on lane-started']);

    // The controller checks what the poll found; from then on the runner's assignment is known.
    w.check('lane-started', { repo: REPO, jobId: 100, labels: ['self-hosted'] });
    await Promise.all(w.checks);
    w.asked.length = 0;
    expect(await w.assignments.pollOnce()).toEqual([]);
    expect(w.asked).toEqual([]);
  });

  it('a refused assignment reports the stage and returns one refusal for its runner, however often GitHub reports it', async () => {
    const w = world([record('lane-1', 'codex'), record('ci-1', 'ci')]);
    const bare: Assignment = { repo: REPO, jobId: 11, labels: ['self-hosted'] };

    w.check('lane-1', bare);
    w.check('lane-1', bare); // a duplicate in_progress delivery
    w.check('lane-1', { ...bare, jobId: 12 }); // a confused late report of another job
    w.check('ci-1', bare); // a Tier-1 runner holds nothing to release: no check
    const refusals = (await Promise.all(w.checks)).filter((r) => r !== undefined);

    expect(refusals).toHaveLength(1);
    const [refusal] = refusals as Refusal[];
    expect(refusal!.runnerName).toBe('lane-1');
    expect(refusal!.reason).toMatch(/^refused job 11 of org\/app: the job asks for \[self-hosted\]/);
    expect(refusal!.error).toBe(`runner lane-1 (profile codex) ${refusal!.reason}`);
    expect(w.stages).toEqual([{ jobId: 11, stage: 'refused', reason: 'no_lane_label' }]);
    expect(w.checks).toHaveLength(3);
  });
  it('a lane runner busy with a job nobody could find is stopped once the bound after it went busy has passed', async () => {
    const w = world([record('lane-lost', 'codex'), record('ci-busy', 'ci')], { jobsFound: false });

    w.at(1000);
    await w.assignments.pollOnce(); // GitHub shows it busy; its job is nowhere in the running jobs
    w.at(1000 + UNRELEASED_LIMIT_MS - 1);
    await w.assignments.pollOnce();
    expect(w.assignments.overdue()).toEqual([]);

    w.at(1000 + UNRELEASED_LIMIT_MS);
    await w.assignments.pollOnce();
    const reason = `no release within ${UNRELEASED_LIMIT_MS / 1000} s of its runner taking a job`;
    // A Tier-1 runner has nothing to release: only the lane runner is stopped, and only once.
    expect(w.assignments.overdue()).toEqual([
      { runnerName: 'lane-lost', reason, error: `runner lane-lost (profile codex) ${reason}` },
    ]);
    expect(w.assignments.overdue()).toEqual([]);
  });

  it('a lane runner whose assignment check never ends is stopped the bound after its job was reported', async () => {
    // The run lookup hangs (GitHub slow, the controller's check stuck): no release, no refusal.
    const w = world([record('lane-stuck', 'codex')], { lookupHangs: true });
    w.at(5);
    w.check('lane-stuck', { repo: REPO, jobId: 100, labels: LANE });
    w.at(5 + UNRELEASED_LIMIT_MS);
    expect(w.assignments.overdue().map((r) => r.runnerName)).toEqual(['lane-stuck']);
  });
});
