// An org lane runner on the real engine against the stand-in in org mode, which assigns as GitHub does: a runner that
// comes online takes the OLDEST queued job its labels cover in any repo its runner group admits, whichever repo's job
// it was made for. The lane may hold a job of a repo its org entry serves, and of no other; each job records what it
// saw before and after the release.
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GitHubStandin } from '../../controller/github/standin/github-standin.js';
import { createLogger } from '../../controller/observe/logger.js';
import { startHarness, waitFor, type Harness } from '../support/harness.js';
import { awaitReleaseShell } from '../support/release-shell.js';

const LANE = ['self-hosted', 'factory', 'codex'];
const SECRET = 'lin_api_OrgLaneReleaseOnly7';
const AUTH = JSON.stringify({ tokens: { id_token: 'id-x', access_token: 'at-x', refresh_token: 'rt-x' } });
const JOB =
  // Under host networking every container has the host's hostname: each job names its notes itself.
  'f=/results/$(cat /proc/sys/kernel/random/uuid); ' +
  `echo "auth-before=$(ls -A /factory/auth/codex | tr '\\n' ,)" > $f; ` +
  awaitReleaseShell(['LINEAR_TOKEN'], 20) +
  `echo "marker=$(cat /factory/release/released.json 2>/dev/null)" >> $f; ` +
  `echo "auth-after=$(ls -A /factory/auth/codex | tr '\\n' ,)" >> $f; echo "token=$LINEAR_TOKEN" >> $f`;

let root: string;
let h: Harness | undefined;
let standin: GitHubStandin | undefined;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'factory-org-release-'));
  chmodSync(root, 0o755);
});
afterEach(async () => {
  await h?.stop();
  await standin?.stop();
  h = standin = undefined;
  rmSync(root, { recursive: true, force: true });
});

/**
 * Org `acme-…` with api-one (A), api-two (B), api-legacy (excluded by the entry) and web; the lane's group is open to
 * selected repos, and (an admin's slip) admits api-legacy as well as A and B.
 */
async function start() {
  const org = `acme-${randomBytes(3).toString('hex')}`;
  const codexHome = join(root, 'codex');
  const results = join(root, 'results');
  mkdirSync(codexHome);
  mkdirSync(results);
  chmodSync(results, 0o777);
  writeFileSync(join(codexHome, 'auth.json'), AUTH, { mode: 0o600 });
  writeFileSync(join(root, 'linear.env'), `LINEAR_TOKEN=${SECRET}\n`, { mode: 0o600 });
  let logged = '';
  const destination = new Writable({
    write(chunk, _enc, done) {
      logged += chunk.toString();
      done();
    },
  });
  standin = new GitHubStandin({ jobSeconds: 1, lostRunnerSeconds: 8 });
  await standin.start();
  standin.addOrg(org, {
    repos: [{ name: 'api-one' }, { name: 'api-two' }, { name: 'api-legacy' }, { name: 'web' }],
    groups: [{ name: 'lanes', visibility: 'selected', selected: ['api-one', 'api-two', 'api-legacy'] }],
  });
  h = await startHarness({
    standin,
    config: { stateDir: join(root, 'state') },
    log: createLogger({ destination, pretty: false }),
    profile: {
      labels: LANE,
      lane: 'codex',
      trusted: true,
      runnerGroup: 'lanes',
      mounts: [
        { kind: 'auth', agent: 'codex', source: codexHome },
        { kind: 'bind', source: results, target: '/results', mode: 'rw' },
      ],
      envFiles: [join(root, 'linear.env')],
      env: { STANDIN_JOB_COMMAND: JOB },
    },
    orgs: [{ name: org, include: ['api-*'], exclude: ['api-legacy'], profiles: ['ci'] }],
  });
  const harness = h;
  const github = standin;
  return {
    org,
    h: harness,
    github,
    log: () =>
      logged
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    /** Each job's notes, one per container: what it saw before and after the release, and the release's marker. */
    seen: () =>
      readdirSync(results).map(
        (name) =>
          Object.fromEntries(
            readFileSync(join(results, name), 'utf8')
              .trim()
              .split('\n')
              .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
          ) as Record<string, string>,
      ),
    settled: async () =>
      (await harness.containers()).length === 0 &&
      harness.service.controller.snapshot().runners.length === 0 &&
      github.runners.size === 0,
  };
}

describe('an org lane runner given another repo’s job', () => {
  it("made for A, it takes B's older job, found by the poll when in_progress is lost: released for B, and A's job runs on a fresh runner", async () => {
    const t = await start();
    const A = `${t.org}/api-one`;
    const B = `${t.org}/api-two`;
    // B's queued delivery is lost, so nothing of ours stands for it; its in_progress too, so only the poll names it.
    t.github.loseDelivery = (action, job) => job.id === b && action !== 'completed';
    const b = await t.github.queueJob(B, LANE, { announce: false });
    const a = await t.github.queueJob(A, LANE);
    await waitFor(
      'both jobs to complete',
      () => [a, b].every((id) => t.github.jobs.get(id)?.status === 'completed'),
      60_000,
    );
    await waitFor('every runner, container and registration to be gone', t.settled, 30_000);

    const jobB = t.github.jobs.get(b)!;
    const jobA = t.github.jobs.get(a)!;
    // B's job ran on the runner made for A's (its name says so), and A's job on another one.
    expect(jobB.runnerName).toContain('api-one');
    expect(jobA.runnerName).not.toBe(jobB.runnerName);
    expect([jobA.result, jobB.result].map((r) => r?.exitCode ?? 0)).toEqual([0, 0]);
    expect(
      t.log().some((l) => String(l.msg).startsWith('no in_progress delivery for a busy lane runner') && l.repo === B),
    ).toBe(true);

    const notes = t.seen();
    expect(notes).toHaveLength(2);
    expect(notes.map((n) => JSON.parse(n.marker!) as object)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ repo: B, jobId: b, runId: jobB.runId }),
        expect.objectContaining({ repo: A, jobId: a, runId: jobA.runId }),
      ]),
    );
    for (const n of notes) expect(n).toMatchObject({ 'auth-after': 'auth.json,', token: SECRET });
    expect(t.h.stages.filter((s) => s.stage === 'refused')).toEqual([]);
    // The run was looked up in B, the job's repo; the poll searched A, then B, and no repo the entry does not serve.
    expect(t.github.exchanges.some((x) => x.path === `/repos/${B}/actions/runs/${jobB.runId}`)).toBe(true);
    const searched = new Set(
      t.github.exchanges
        .filter((x) => x.method === 'GET' && /\/actions\/runs$/.test(x.path))
        .map((x) => x.path.split('/')[3]),
    );
    expect(searched.has('api-legacy') || searched.has('web')).toBe(false);
    expect(t.github.exchanges.filter((x) => x.path.endsWith('/generate-jitconfig'))).toHaveLength(2);
    expect(readdirSync(join(root, 'state', 'jobs'))).toEqual([]);
  }, 120_000);

  it("refuses a fork's run in B and a job of the excluded repo; A's job runs, and none of the refused saw a credential", async () => {
    const t = await start();
    const A = `${t.org}/api-one`;
    const fork = await t.github.queueJob(`${t.org}/api-two`, LANE, {
      announce: false,
      event: 'pull_request',
      headRepo: 'mallory/api-two',
    });
    const excluded = await t.github.queueJob(`${t.org}/api-legacy`, LANE, { announce: false });
    const a = await t.github.queueJob(A, LANE);
    await waitFor('the lane job to complete', () => t.github.jobs.get(a)?.status === 'completed', 90_000);
    await waitFor(
      'the refused jobs to end',
      () => [fork, excluded].every((id) => t.github.jobs.get(id)?.status === 'completed'),
      30_000,
    );
    await waitFor('every runner, container and registration to be gone', t.settled, 30_000);

    const refusals = Object.fromEntries(
      t
        .log()
        .filter((l) => String(l.msg).includes('not entitled'))
        .map((l) => [l.jobId, l]),
    );
    expect(refusals[fork]).toMatchObject({ reason: 'fork', repo: `${t.org}/api-two` });
    expect(refusals[excluded]).toMatchObject({ reason: 'other_repo', repo: `${t.org}/api-legacy` });
    expect(String(refusals[excluded]!.why)).toContain(`which no orgs entry of ${t.org} serves with profile "ci"`);
    expect(Object.keys(refusals)).toHaveLength(2);
    for (const id of [fork, excluded]) expect(t.github.jobs.get(id)!.result?.exitCode).toBe(1);

    const notes = t.seen();
    const released = notes.filter((n) => n.marker);
    expect(released.map((n) => JSON.parse(n.marker!) as object)).toEqual([
      expect.objectContaining({ repo: A, jobId: a }),
    ]);
    expect(released[0]).toMatchObject({ 'auth-after': 'auth.json,', token: SECRET });
    // A refused container may be stopped before its first line; what it wrote, if anything, holds no credential.
    for (const n of notes.filter((x) => !x.marker)) expect(n).toMatchObject({ 'auth-before': '' });
    expect(JSON.stringify(notes.filter((x) => !x.marker))).not.toContain(SECRET);
    expect(t.h.stages.filter((s) => s.stage === 'released').map((s) => s.jobId)).toEqual([a]);
    expect(t.github.exchanges.filter((x) => x.path.endsWith('/generate-jitconfig'))).toHaveLength(3);
  }, 150_000);
});
