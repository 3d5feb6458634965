// The gate is terminal, proven on the stand-in runner, whose step loop is the official runner's (see its run.sh):
// after a failed job-started hook, and after a cancel, the runner still runs every later step whose `if:` holds
// (`always()`, `failure()`, `cancelled()`). Each job here has three steps that note, in a results folder, that they
// ran: a plain one (success()), an `if: failure()` one and an `if: always()` one. Real containers, the real stand-in
// GitHub on loopback.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GitHubStandin } from '../../controller/github/standin/github-standin.js';
import { ensureImage, inputsHash, type ImageBuild } from '../../controller/images/image-builder.js';
import { jobStartedHookScript } from '../../controller/lanes/job-started-hook.js';
import { packageRoot } from '../../controller/util/package-root.js';
import { docker, waitFor } from '../support/harness.js';

const REPO = 'factory-test/gate';
let root: string;
let github: GitHubStandin;
beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), 'factory-e-gate-'));
  chmodSync(root, 0o777);
  mkdirSync(join(root, 'results'), { mode: 0o777 });
  chmodSync(join(root, 'results'), 0o777);
  github = new GitHubStandin({ jobSeconds: 0 });
  await github.start();
});
afterEach(async () => {
  await github.stop();
  rmSync(root, { recursive: true, force: true });
});

/** The stand-in runner image as this tree has it, tagged by its inputs so it never replaces the shared one. */
async function runnerImage(): Promise<string> {
  const dir = join(packageRoot(), 'controller', 'github', 'standin', 'runner-image');
  const build: ImageBuild = { tag: '', contextDir: dir, dockerfile: join(dir, 'Dockerfile'), buildArgs: {} };
  build.tag = `factory-test/runner-steps:${(await inputsHash(build)).slice(0, 12)}`;
  await ensureImage(docker, build, () => {});
  return build.tag;
}

/**
 * The two stand-ins: the busybox one the controller's tests launch, and factory/base's node one (run here from this
 * tree on the Debian base with the host's node, so that testing it needs no factory/base rebuild).
 */
const STANDINS = {
  busybox: async () => [await runnerImage()],
  node: async () => [
    ...['-v', `${process.execPath}:/usr/local/bin/node:ro`, '-v', `${NODE_STANDIN}:/opt/runner-standin.mjs:ro`],
    ...['--user', '1000:1000', 'factory-local/debian:bookworm', 'node', '/opt/runner-standin.mjs'],
  ],
};
const NODE_STANDIN = join(packageRoot(), 'images', 'factory-upstream-local', 'runner', 'runner-standin.mjs');
type Standin = keyof typeof STANDINS;

/** Registers a runner, queues a job it takes, and runs it in a container with the given job-started hook. */
async function runJob(standin: Standin, hook: string) {
  writeFileSync(join(root, 'hook.sh'), hook, { mode: 0o755 });
  const res = await fetch(`${github.url}/repos/${REPO}/actions/runners/generate-jitconfig`, {
    method: 'POST',
    headers: { authorization: 'token standin', 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'gate-runner', labels: ['self-hosted', 'lane'], runner_group_id: 1 }),
  });
  const { encoded_jit_config: jit } = (await res.json()) as { encoded_jit_config: string };
  const jobId = await github.queueJob(REPO, ['self-hosted', 'lane']);
  const note = (step: string) => `touch /results/${step}`;
  const name = `factory-e-gate-${Math.random().toString(36).slice(2, 10)}`;
  const child = spawn('docker', [
    ...['run', '--rm', '--init', '--name', name, '--network', 'host', '-v', `${root}:/gate`],
    ...['-v', `${join(root, 'results')}:/results`, '-e', `ACTIONS_RUNNER_INPUT_JITCONFIG=${jit}`],
    ...['-e', 'ACTIONS_RUNNER_HOOK_JOB_STARTED=/gate/hook.sh', '-e', `STANDIN_JOB_COMMAND=${note('success')}`],
    ...['-e', `STANDIN_FAILURE_COMMAND=${note('failure')}`, '-e', `STANDIN_ALWAYS_COMMAND=${note('always')}`],
    ...(await STANDINS[standin]()),
  ]);
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  return {
    jobId,
    exited,
    out: () => out,
    ran: () => readdirSync(join(root, 'results')).sort(),
    hookStarted: () => waitFor('the job to start', () => out.includes('Running job'), 30_000),
  };
}

const hang = '#!/bin/sh\nsleep 60\n';

describe.each([['busybox'], ['node']] as const)(
  'the %s stand-in runner runs steps as the official runner does',
  (standin) => {
    it('after a failed job-started hook, failure() and always() steps run and success() ones do not', async () => {
      const job = await runJob(standin, '#!/bin/sh\nexit 1\n');
      await job.exited;
      expect(job.ran()).toEqual(['always', 'failure']);
      expect(github.jobs.get(job.jobId)?.result?.exitCode).toBe(1);
    });

    it('a job cancelled during its job-started hook still runs its always() step', async () => {
      const job = await runJob(standin, hang);
      await job.hookStarted();
      await github.cancelJob(job.jobId);
      await job.exited;
      expect(job.ran()).toEqual(['always']);
      expect(job.out()).toContain('completed with result: Canceled');
    });
  },
);

describe.each([['busybox'], ['node']] as const)('the gate is terminal on the %s stand-in runner', (standin) => {
  it('when no release comes, no later step runs, whatever its if:', async () => {
    const job = await runJob(standin, jobStartedHookScript({ releaseDir: '/gate/release', waitSeconds: 2 }));
    await job.exited;
    expect(job.ran()).toEqual([]);
    expect(job.out()).not.toContain('completed with result');
  });

  it('when the job is cancelled before the release, no later step runs, whatever its if:', async () => {
    const job = await runJob(standin, jobStartedHookScript({ releaseDir: '/gate/release', waitSeconds: 120 }));
    await job.hookStarted();
    await new Promise((r) => setTimeout(r, 1000));
    await github.cancelJob(job.jobId);
    await job.exited;
    expect(job.ran()).toEqual([]);
  });

  it('once released, the job runs its steps as usual', async () => {
    mkdirSync(join(root, 'release'));
    writeFileSync(join(root, 'release', 'released.json'), '{}');
    const job = await runJob(standin, jobStartedHookScript({ releaseDir: '/gate/release', waitSeconds: 10 }));
    await job.exited;
    expect(job.ran()).toEqual(['always', 'success']);
    expect(existsSync(join(root, 'results', 'failure'))).toBe(false);
  });
});
