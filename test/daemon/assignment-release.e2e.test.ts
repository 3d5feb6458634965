// A lane's credentials reach only the job entitled to them, on the real engine against the GitHub stand-in, which
// assigns like GitHub: a runner that comes online takes the OLDEST queued job its labels cover, whichever job it was
// made for. Each job records, into a results folder, what it could see before and after the release.
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GitHubStandin } from '../../controller/github/standin/github-standin.js';
import { createLogger } from '../../controller/observe/logger.js';
import { startHarness, waitFor, type Harness } from '../support/harness.js';
import { awaitReleaseShell } from '../support/release-shell.js';

const LANE = ['self-hosted', 'factory', 'codex'];
const SECRET = 'lin_api_Rl3asedOnlyToTheLane9';
const GH_TOKEN = 'gho_HostLoginReleasedOnly4Lane';
const AUTH = JSON.stringify({ tokens: { id_token: 'id-x', access_token: 'at-x', refresh_token: 'rt-x' } });

let root: string;
let h: Harness | undefined;
let standin: GitHubStandin | undefined;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'factory-release-'));
  chmodSync(root, 0o755);
});
afterEach(async () => {
  await h?.stop();
  await standin?.stop();
  h = standin = undefined;
  rmSync(root, { recursive: true, force: true });
});

/** What every job runs: it notes what it sees at once, waits (bounded) for the release, and notes what it sees then. */
const JOB =
  // Under host networking every container has the host's hostname: each job names its notes itself.
  'f=/results/$(cat /proc/sys/kernel/random/uuid); ' +
  `{ echo "auth-before=$(ls -A /factory/auth/codex | tr '\\n' ,)"; echo "env-secret=$(env | grep -v ^STANDIN_JOB_COMMAND= | grep -c ${SECRET.slice(0, 12)})"; ` +
  `echo "release-before=$(ls -A /factory/release | tr '\\n' ,)"; echo "gh-before=$(cat /gh/hosts.yml 2>/dev/null | grep -c gho_)"; } > $f; ` +
  awaitReleaseShell(['LINEAR_TOKEN'], 20) +
  `echo "marker=$(cat /factory/release/released.json 2>/dev/null)" >> $f; ` +
  `echo "auth-after=$(ls -A /factory/auth/codex | tr '\\n' ,)" >> $f; echo "token=$LINEAR_TOKEN" >> $f; ` +
  `echo "gh-after=$(grep -o 'gho_[A-Za-z0-9]*' $GH_CONFIG_DIR/hosts.yml)" >> $f`;

async function start(opts: { lostRunnerSeconds?: number; jobSeconds?: number } = {}) {
  const codexHome = join(root, 'codex');
  const results = join(root, 'results');
  mkdirSync(codexHome);
  mkdirSync(results);
  chmodSync(results, 0o777);
  writeFileSync(join(codexHome, 'auth.json'), AUTH, { mode: 0o600 });
  const gh = join(root, 'gh');
  mkdirSync(gh);
  // Readable by the container user, as the host user's own login is to a runner of the same uid: only the release
  // may put it within a job's reach.
  writeFileSync(join(gh, 'hosts.yml'), `github.com:\n    oauth_token: ${GH_TOKEN}\n    user: ali\n`, { mode: 0o644 });
  writeFileSync(join(root, 'linear.env'), `LINEAR_TOKEN=${SECRET}\n`, { mode: 0o600 });
  let logged = '';
  const destination = new Writable({
    write(chunk, _enc, done) {
      logged += chunk.toString();
      done();
    },
  });
  standin = new GitHubStandin({ jobSeconds: opts.jobSeconds ?? 1, lostRunnerSeconds: opts.lostRunnerSeconds ?? 6 });
  await standin.start();
  h = await startHarness({
    standin,
    config: { stateDir: join(root, 'state') },
    log: createLogger({ destination, pretty: false }),
    profile: {
      labels: LANE,
      lane: 'codex',
      trusted: true,
      mounts: [
        { kind: 'auth', agent: 'codex', source: codexHome },
        { kind: 'gh', source: gh, target: '/gh' },
        { kind: 'bind', source: results, target: '/results', mode: 'rw' },
      ],
      envFiles: [join(root, 'linear.env')],
      env: { STANDIN_JOB_COMMAND: JOB },
    },
  });
  const harness = h;
  return {
    h: harness,
    github: standin,
    log: () =>
      logged
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    /** Each job's notes by the job id its release named, or by `unreleased-N` for jobs never released. */
    seen: () =>
      readdirSync(results).map((name) => {
        const lines = Object.fromEntries(
          readFileSync(join(results, name), 'utf8')
            .trim()
            .split('\n')
            .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
        ) as Record<string, string>;
        return lines;
      }),
    metrics: async () => (await fetch(`${harness.service.statusUrl}/metrics`)).text(),
    settled: async () =>
      (await harness.containers()).length === 0 &&
      harness.service.controller.snapshot().runners.length === 0 &&
      standin!.runners.size === 0,
  };
}

const metric = (text: string, name: string) =>
  Number(new RegExp(`^${name.replace(/[{}"]/g, '\\$&')} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);

describe('credentials released on a verified assignment', () => {
  it('a bare [self-hosted] job that a lane runner takes sees nothing, its runner goes, and the lane job runs on a fresh one', async () => {
    const t = await start();
    // Queued first and served by no profile (the lane needs its own label): the oldest job any runner covers.
    const bare = await t.github.queueJob(t.h.repo, ['self-hosted']);
    const lane = await t.github.queueJob(t.h.repo, LANE);
    await waitFor('the lane job to complete', () => t.github.jobs.get(lane)?.status === 'completed', 60_000);
    await waitFor('every runner, container and registration to be gone', t.settled, 30_000);

    // The bare job ran on the runner made for the lane job, and was refused.
    const first = t.github.jobs.get(bare)!;
    expect(first.status).toBe('completed');
    expect(first.result?.exitCode).toBe(1); // its runner was stopped: GitHub fails the job
    const refusal = t.log().find((l) => String(l.msg).includes('not entitled'))!;
    expect(refusal).toMatchObject({ level: 'warn', repo: t.h.repo, jobId: bare, reason: 'no_lane_label' });
    expect(String(refusal.msg)).toMatch(
      new RegExp(
        `lane runner ${first.runnerName} took job ${bare} of ${t.h.repo}, which is not entitled to profile ci`,
      ),
    );
    expect(String(refusal.why)).toContain('none of the labels only lane profile "ci" has (factory, codex)');

    // What each job saw: the bare one no credential at all, the lane one its credentials once released.
    const notes = t.seen();
    const released = notes.filter((n) => n.marker);
    const refused = notes.filter((n) => !n.marker);
    expect(released).toHaveLength(1);
    expect(JSON.parse(released[0]!.marker!)).toMatchObject({ repo: t.h.repo, jobId: lane });
    // The runner's job-started hook holds the job's first step until the release: its first look finds it done.
    expect(released[0]!['auth-before']).toBe('auth.json,');
    expect(released[0]).toMatchObject({
      'env-secret': '0',
      'auth-after': 'auth.json,',
      token: SECRET,
      'gh-after': GH_TOKEN,
    });
    // The refused job never ran a step: the hook held it until its container was stopped, so it saw no mount at all.
    expect(refused).toEqual([]);
    expect(JSON.stringify(notes.filter((n) => n !== released[0]))).not.toContain(SECRET);
    expect(JSON.stringify(notes.filter((n) => n !== released[0]))).not.toContain(GH_TOKEN);

    const metrics = await t.metrics();
    expect(metric(metrics, 'factory_assignments_refused_total{profile="ci",reason="no_lane_label"}')).toBe(1);
    expect(metric(metrics, 'factory_assignments_released_total{profile="ci"}')).toBe(1);
    // Two runners: the refused one and the fresh one that ran the lane job; no job folder left behind.
    expect(t.h.github.exchanges.filter((x) => x.path.endsWith('/generate-jitconfig'))).toHaveLength(2);
    expect(readdirSync(join(root, 'state', 'jobs'))).toEqual([]);
  }, 120_000);

  it("a fork's pull request and a pull_request_target run asking for the lane's labels are refused and see nothing", async () => {
    const t = await start();
    const fork = await t.github.queueJob(t.h.repo, LANE, { event: 'pull_request', headRepo: 'attacker/fork' });
    const target = await t.github.queueJob(t.h.repo, LANE, { event: 'pull_request_target' });
    await waitFor(
      'both refusals',
      () => t.log().filter((l) => String(l.msg).includes('not entitled')).length === 2,
      30_000,
    );
    await waitFor('every runner, container and registration to be gone', t.settled, 30_000);

    // Neither ran a step: no notes at all, so no mount, credential or network was within their reach.
    expect(t.seen()).toEqual([]);
    const reasons = Object.fromEntries(
      t
        .log()
        .filter((l) => String(l.msg).includes('not entitled'))
        .map((l) => [l.jobId, l]),
    );
    expect(reasons[fork]).toMatchObject({ reason: 'fork' });
    expect(String(reasons[fork]!.why)).toMatch(/runs code from attacker\/fork, not factory-test\//);
    expect(reasons[target]).toMatchObject({ reason: 'pull_request_target' });
    const metrics = await t.metrics();
    expect(metric(metrics, 'factory_assignments_refused_total{profile="ci",reason="fork"}')).toBe(1);
    expect(metric(metrics, 'factory_assignments_refused_total{profile="ci",reason="pull_request_target"}')).toBe(1);
    expect(metric(metrics, 'factory_assignments_released_total{profile="ci"}')).toBe(0);
    // The run lookups were real GitHub calls, one per job, in GitHub's documented shape (checked at harness stop).
    expect(t.h.github.exchanges.filter((x) => /\/actions\/runs\/\d+$/.test(x.path))).toHaveLength(2);
  }, 120_000);

  it('a duplicate in_progress neither releases twice nor refuses the job', async () => {
    const t = await start({ jobSeconds: 3 });
    const lane = await t.github.queueJob(t.h.repo, LANE);
    await waitFor('the release', () => t.h.stages.some((s) => s.jobId === lane && s.stage === 'released'), 30_000);
    const job = t.github.jobs.get(lane)!;
    expect(job.status).toBe('in_progress');
    await t.github.deliver(job, 'in_progress');
    await t.github.deliver(job, 'in_progress');
    await waitFor('the lane job to complete', () => t.github.jobs.get(lane)?.status === 'completed', 30_000);
    await waitFor('every runner, container and registration to be gone', t.settled, 30_000);

    expect(t.h.stages.filter((s) => s.stage === 'released' || s.stage === 'refused')).toEqual([
      { jobId: lane, stage: 'released' },
    ]);
    expect(t.h.github.exchanges.filter((x) => /\/actions\/runs\/\d+$/.test(x.path))).toHaveLength(1);
    expect(t.seen()).toEqual([expect.objectContaining({ 'auth-after': 'auth.json,', token: SECRET })]);
  }, 120_000);

  it("a lost in_progress: the poll finds the busy runner's job and releases it; the late delivery changes nothing", async () => {
    const t = await start({ jobSeconds: 3 });
    t.github.loseDelivery = (action) => action === 'in_progress';
    const lane = await t.github.queueJob(t.h.repo, LANE);
    await waitFor(
      'the release by the poll',
      () => t.h.stages.some((s) => s.jobId === lane && s.stage === 'released'),
      30_000,
    );
    expect(t.log().some((l) => String(l.msg).startsWith('no in_progress delivery for a busy lane runner'))).toBe(true);
    // The delivery GitHub held back arrives after all.
    t.github.loseDelivery = () => false;
    await t.github.deliver(t.github.jobs.get(lane)!, 'in_progress');
    await waitFor('the lane job to complete', () => t.github.jobs.get(lane)?.status === 'completed', 30_000);
    await waitFor('every runner, container and registration to be gone', t.settled, 30_000);

    expect(t.h.stages.filter((s) => s.stage === 'released' || s.stage === 'refused')).toEqual([
      { jobId: lane, stage: 'released' },
    ]);
    expect(t.seen()).toEqual([
      // Its first step waited in the job-started hook for the poll's release: it never saw the lane without it.
      expect.objectContaining({ 'auth-before': 'auth.json,', 'auth-after': 'auth.json,', token: SECRET }),
    ]);
    expect(existsSync(join(root, 'state', 'jobs')) ? readdirSync(join(root, 'state', 'jobs')) : []).toEqual([]);
  }, 120_000);
});
