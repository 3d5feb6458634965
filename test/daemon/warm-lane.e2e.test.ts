// Warm lane runners on the real engine, against the stand-in GitHub that hands a queued job to ANY idle runner whose
// labels cover it: a lane profile with a login, a gh login and an env file keeps a warm pool; its idle runner holds
// nothing of the login (a `factory lane run` takes it meanwhile); a lane job lands on the warm runner, and gets its
// credentials only once its assignment is verified and the login is free.
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GitHubStandin } from '../../controller/github/standin/github-standin.js';
import { credentialHolders, lockCredential, unlockCredential } from '../../controller/lanes/credential-lock.js';
import { startHarness, waitFor, type Harness } from '../support/harness.js';
import { awaitReleaseShell } from '../support/release-shell.js';

const LANE = ['self-hosted', 'factory', 'codex'];
const SECRET = 'lin_api_WarmLaneReleasedOnly7';
const AUTH = JSON.stringify({ tokens: { id_token: 'id-w', access_token: 'at-w', refresh_token: 'rt-w' } });

// What the job runs: what it sees at its first step (the gate held it until the release), then the released token.
const JOB =
  'f=/results/$(cat /proc/sys/kernel/random/uuid); ' +
  `echo "auth-before=$(ls -A /factory/auth/codex | tr '\\n' ,)" > $f; ` +
  awaitReleaseShell(['LINEAR_TOKEN'], 20) +
  `echo "marker=$(cat /factory/release/released.json 2>/dev/null)" >> $f; echo "token=$LINEAR_TOKEN" >> $f`;

let root: string;
let h: Harness | undefined;
let standin: GitHubStandin | undefined;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'factory-warm-lane-'));
  chmodSync(root, 0o755);
});
afterEach(async () => {
  await h?.stop();
  await standin?.stop();
  h = standin = undefined;
  rmSync(root, { recursive: true, force: true });
});

async function start() {
  const codexHome = join(root, 'codex');
  const results = join(root, 'results');
  mkdirSync(codexHome);
  mkdirSync(results);
  chmodSync(results, 0o777);
  writeFileSync(join(codexHome, 'auth.json'), AUTH, { mode: 0o600 });
  writeFileSync(join(root, 'linear.env'), `LINEAR_TOKEN=${SECRET}\n`, { mode: 0o600 });
  standin = new GitHubStandin({ jobSeconds: 1 });
  await standin.start();
  h = await startHarness({
    standin,
    config: { stateDir: join(root, 'state') },
    profile: {
      labels: LANE,
      lane: 'codex',
      trusted: true,
      warm: { min: 1, idleTimeout: '10m' },
      mounts: [
        { kind: 'auth', agent: 'codex', source: codexHome },
        { kind: 'bind', source: results, target: '/results', mode: 'rw' },
      ],
      envFiles: [join(root, 'linear.env')],
      env: { STANDIN_JOB_COMMAND: JOB },
    },
  });
  const x = h;
  const github = standin;
  return {
    h: x,
    github,
    /** The warm runners listening at the stand-in, not busy: what GitHub hands a queued job at once. */
    listening: () => [...github.runners.values()].filter((r) => r.repo === x.repo && r.status === 'online' && !r.busy),
    idle: () => x.service.controller.snapshot().pools[0]?.idle ?? 0,
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
    stagesOf: (jobId: number) => x.stages.filter((s) => s.jobId === jobId).map((s) => s.stage),
  };
}

describe('a warm pool of a lane profile', () => {
  it('a lane job starts on the warm runner and gets its credentials only after its assignment is verified', async () => {
    const t = await start();
    await waitFor('a warm lane runner listening', () => t.listening().length === 1 && t.idle() === 1, 30_000);
    const warm = t.listening()[0]!.name;
    // Idle, it holds nothing of its login.
    expect(await credentialHolders(t.h.config)).toEqual([]);

    const lane = await t.github.queueJob(t.h.repo, LANE);
    expect(t.github.jobs.get(lane)!.runnerName).toBe(warm);
    await waitFor('the lane job to complete', () => t.github.jobs.get(lane)?.status === 'completed', 60_000);
    await waitFor('its runner cleaned up', () => t.stagesOf(lane).includes('cleaned'), 30_000);

    // No runner was made for it: it ran on the warm one, released after GitHub said it runs there.
    expect(t.stagesOf(lane)).toEqual(['queued', 'taken', 'in_progress', 'released', 'completed', 'cleaned']);
    const [notes] = t.seen();
    // Its first step ran after the release (the gate held it), with the token the release wrote.
    expect(JSON.parse(notes!.marker!)).toMatchObject({ repo: t.h.repo, jobId: lane });
    expect(notes).toMatchObject({ 'auth-before': 'auth.json,', token: SECRET });
    const metrics = await t.h.service.metrics.text();
    expect(metrics).toMatch(/factory_job_starts_total\{repo="[^"]+",profile="ci",start="warm"\} 1/);
    expect(metrics).toMatch(
      /factory_pickup_stage_seconds_count\{profile="ci",kind="lane",start="warm",stage="released"\} 1/,
    );
    // The login went back with the job: the replacement idles holding nothing.
    await waitFor('the pool refilled', () => t.idle() === 1 && t.listening().length === 1, 30_000);
    expect(await credentialHolders(t.h.config)).toEqual([]);
  }, 120_000);

  it('an idle warm lane leaves the login to a factory lane run; a job that lands on it waits at its release until the login is free', async () => {
    const t = await start();
    await waitFor('a warm lane runner listening', () => t.listening().length === 1 && t.idle() === 1, 30_000);
    // A `factory lane run` of the same login takes it while the warm runner idles.
    const run = await lockCredential(t.h.config, t.h.config.profiles.ci!, {
      kind: 'lane-run',
      name: 'factory-lane-warm-e2e',
    });
    expect(run).toMatchObject({ held: true });

    const lane = await t.github.queueJob(t.h.repo, LANE);
    await waitFor('the verified job waiting for its login', () => t.stagesOf(lane).includes('credential-wait'), 30_000);
    expect(t.stagesOf(lane)).not.toContain('released');
    expect(t.github.jobs.get(lane)!.status).toBe('in_progress');
    // Past the moment a free login would have been released: still waiting, nothing of the lane within its reach.
    await new Promise((r) => setTimeout(r, 2_000));
    expect(t.stagesOf(lane)).not.toContain('released');
    expect(t.seen()).toEqual([]);

    await unlockCredential(t.h.config, (run as { file: string }).file);
    await waitFor('the lane job to complete', () => t.github.jobs.get(lane)?.status === 'completed', 60_000);
    expect(t.stagesOf(lane).slice(0, 5)).toEqual(['queued', 'taken', 'in_progress', 'credential-wait', 'released']);
    expect(t.seen()).toEqual([expect.objectContaining({ 'auth-before': 'auth.json,', token: SECRET })]);
  }, 120_000);
});
