// The controller's side of a lane runner's assignment, through its own seam: which runners the poll asks GitHub
// about, and what a refusal asks of the controller (once, however often GitHub reports the job).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../controller/config/config.js';
import type { Assignment } from '../../controller/daemon/assignment-check.js';
import { LaneAssignments, type AssignmentVerbs } from '../../controller/daemon/lane-assignments.js';
import { RunnerBook, type RunnerRecord } from '../../controller/daemon/runner-book.js';
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

function record(name: string, profileName: string, over: Partial<RunnerRecord> = {}): RunnerRecord {
  return {
    identity: { instance: 'mem', repo: REPO, profileName, jobId: 0, runnerId: 1, runnerName: name },
    slot: { key: name, limits: [] },
    containerId: `c-${name}`,
    startedAt: 0,
    busy: true,
    cleaning: false,
    launching: false,
    ...over,
  };
}

/** Lane assignments over a book of `records`; GitHub shows every runner busy, each with job 100 + its index. */
function world(records: RunnerRecord[], opts: { jobsFound?: boolean; lookupHangs?: boolean } = {}) {
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
  for (const r of records) book.add(r);
  const asked: string[] = [];
  const github: Partial<GitHubApi> = {
    listRunners: async (repo) => {
      asked.push(`runners ${repo}`);
      return records.map((r, i): RunnerInfo => ({
        id: i + 1,
        name: r.identity.runnerName,
        status: 'online',
        busy: true,
      }));
    },
    listRunningJobs: async (repo) => {
      asked.push(`running ${repo}`);
      if (opts.jobsFound === false) return [];
      return records.map((r, i): RunningJob => ({
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
  const told: string[] = [];
  const stages: Array<{ jobId: number; stage: JobStage; reason?: string }> = [];
  const checks: Promise<void>[] = [];
  let lastError: string | undefined;
  const verbs: AssignmentVerbs = {
    isStopping: () => false,
    track: (check) => void checks.push(check),
    jobStarted: (_repo, jobId, runner) => void told.push(`started ${jobId} on ${runner}`),
    stopRefused: (r, reason) => {
      r.refused = reason;
      told.push(`stop ${r.identity.runnerName}`);
    },
    noteError: (message) => void (lastError = message),
  };
  const assignments = new LaneAssignments(
    {
      github: github as GitHubApi,
      log: silentLogger(),
      observer: {
        stage: (jobId, stage, f) => void stages.push({ jobId, stage, ...(f.reason ? { reason: f.reason } : {}) }),
      },
      config: () => config,
      now: () => clock,
      book,
    },
    verbs,
  );
  return {
    assignments,
    asked,
    told,
    stages,
    checks,
    lastError: () => lastError,
    at: (ms: number) => void (clock = ms),
  };
}

describe('lane assignments', () => {
  it('the poll asks only about started lane runners whose assignment is unknown, and hands each job found to the controller', async () => {
    const lane = record('lane-started', 'codex');
    const w = world([
      lane,
      record('lane-launching', 'codex', { launching: true, containerId: undefined }),
      record('ci-started', 'ci'),
      record('lane-cleaning', 'codex', { cleaning: true }),
      record('lane-refused', 'codex', { refused: 'refused before' }),
    ]);

    await w.assignments.pollOnce();
    expect(w.told).toEqual(['started 100 on lane-started']);

    // The controller checks what the poll found; from then on the runner's assignment is known.
    w.assignments.check(lane, { repo: REPO, jobId: 100, labels: ['self-hosted'] });
    await Promise.all(w.checks);
    w.asked.length = 0;
    w.told.length = 0;
    await w.assignments.pollOnce();
    expect(w.told).toEqual([]);
    expect(w.asked).toEqual([]);
  });

  it('a refused assignment notes the error, reports the stage and stops its runner once, however often GitHub reports it', async () => {
    const lane = record('lane-1', 'codex');
    const ci = record('ci-1', 'ci');
    const w = world([lane, ci]);
    const bare: Assignment = { repo: REPO, jobId: 11, labels: ['self-hosted'] };

    w.assignments.check(lane, bare);
    w.assignments.check(lane, bare); // a duplicate in_progress delivery
    w.assignments.check(lane, { ...bare, jobId: 12 }); // a confused late report of another job
    w.assignments.check(ci, bare); // a Tier-1 runner holds nothing to release: no check
    await Promise.all(w.checks);
    await Promise.all(w.checks);

    expect(w.told).toEqual(['stop lane-1']);
    expect(lane.refused).toMatch(/^refused job 11 of org\/app: the job asks for \[self-hosted\]/);
    expect(w.lastError()).toBe(`runner lane-1 (profile codex) ${lane.refused}`);
    expect(w.stages).toEqual([{ jobId: 11, stage: 'refused', reason: 'no_lane_label' }]);
    expect(w.checks).toHaveLength(3);
    expect(ci.refused).toBeUndefined();
  });

  it('a lane runner busy with a job nobody could find is stopped once the bound after it went busy has passed', async () => {
    const lane = record('lane-lost', 'codex');
    const ci = record('ci-busy', 'ci');
    const w = world([lane, ci], { jobsFound: false });

    w.at(1000);
    await w.assignments.pollOnce(); // GitHub shows it busy; its job is nowhere in the running jobs
    w.at(1000 + UNRELEASED_LIMIT_MS - 1);
    await w.assignments.pollOnce();
    expect(w.told).toEqual([]);

    w.at(1000 + UNRELEASED_LIMIT_MS);
    await w.assignments.pollOnce();
    await w.assignments.pollOnce();
    expect(w.told).toEqual(['stop lane-lost']);
    expect(lane.refused).toBe(`no release within ${UNRELEASED_LIMIT_MS / 1000} s of its runner taking a job`);
    expect(w.lastError()).toBe(`runner lane-lost (profile codex) ${lane.refused}`);
    expect(ci.refused).toBeUndefined(); // a Tier-1 runner has nothing to release
  });

  it('a lane runner whose assignment check never ends is stopped the bound after its job was reported', async () => {
    const lane = record('lane-stuck', 'codex');
    // The run lookup hangs (GitHub slow, the controller's check stuck): no release, no refusal.
    const w = world([lane], { lookupHangs: true });
    w.at(5);
    w.assignments.check(lane, { repo: REPO, jobId: 100, labels: LANE });
    w.at(5 + UNRELEASED_LIMIT_MS);
    await w.assignments.pollOnce();
    expect(w.told).toEqual(['stop lane-stuck']);
  });
});
