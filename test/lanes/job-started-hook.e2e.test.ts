// The gate a lane runner runs before a job's first step (ACTIONS_RUNNER_HOOK_JOB_STARTED), run by the shells lane
// images have, each in a container of its own: it holds the job until the release marker appears, then runs a
// profile's own hook; when no release comes, or the job is cancelled first, it ends the runner that started it, so no
// later step of the job runs. That end kills every process of the runner's user in the PID namespace, which is why
// these runs happen in a container and never on the test's own host.
import { execFile, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jobStartedHookScript, NEXT_HOOK_VARIABLE } from '../../controller/lanes/job-started-hook.js';
import { waitFor } from '../support/harness.js';

const exec = promisify(execFile);
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'factory-e-hook-'));
  chmodSync(dir, 0o777);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Runs the gate as a runner runs a step: a runner process (PID 1's child, under the container's init) starts the hook
 * in the foreground, notes its pid for a cancel, and after it returns goes on to the job's later steps, as the
 * official runner does for `if: always()` ones; the note `after` is what such a step would do.
 */
function runGate(target: [string, string], script: string, env: Record<string, string> = {}) {
  const [image, shell] = target;
  writeFileSync(join(dir, 'job-started.sh'), script, { mode: 0o755 });
  const name = `factory-e-hook-${Math.random().toString(36).slice(2, 10)}`;
  const runner =
    `sh -c 'echo $$ > /gate/pid; exec ${shell} /gate/job-started.sh' && echo succeeded >> /gate/after; ` +
    'echo always-step-ran >> /gate/after';
  const child = spawn('docker', [
    'run',
    '--rm',
    '--init',
    '--name',
    name,
    '--network',
    'none',
    '--user',
    '1000:1000',
    '-v',
    `${dir}:/gate`,
    ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]),
    image,
    'sh',
    '-c',
    runner,
  ]);
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const code = new Promise<number | null>((resolve) => child.on('close', resolve));
  return {
    code,
    out: () => out,
    after: () => (existsSync(join(dir, 'after')) ? readFileSync(join(dir, 'after'), 'utf8') : ''),
    signal: async (sig: string) => {
      await waitFor('the hook to start', () => existsSync(join(dir, 'pid')), 30_000);
      await exec('docker', [
        'exec',
        '--user',
        '1000:1000',
        name,
        'sh',
        '-c',
        `kill -${sig} ${readFileSync(join(dir, 'pid'), 'utf8').trim()}`,
      ]);
    },
  };
}

// The official runner runs a `.sh` hook with bash -e; lane images may be busybox or Debian (dash as sh).
describe.each([
  ['factory-test/runner:1', 'sh'],
  ['factory-local/debian:bookworm', 'sh'],
  ['factory-local/debian:bookworm', 'bash -e'],
])('the job-started gate in %s under %s', (...target) => {
  it('holds the job until the marker appears, then runs the profile’s own hook', async () => {
    writeFileSync(join(dir, 'own-hook.sh'), '#!/bin/sh\necho own hook ran\n', { mode: 0o755 });
    const gate = runGate(target, jobStartedHookScript({ releaseDir: '/gate', waitSeconds: 60 }), {
      [NEXT_HOOK_VARIABLE]: '/gate/own-hook.sh',
    });
    await waitFor('the hook to start', () => existsSync(join(dir, 'pid')), 30_000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(gate.after()).toBe(''); // still waiting: no step may run yet
    writeFileSync(join(dir, 'released.json'), '{}');
    expect(await gate.code).toBe(0);
    expect(gate.out()).toMatch(/factory: lane released to this job after \d+ s\nown hook ran\n/);
    expect(gate.after()).toBe('succeeded\nalways-step-ran\n');
  });

  it('ends the runner, saying why, when no release comes in time: no later step runs, not even an always() one', async () => {
    const gate = runGate(target, jobStartedHookScript({ releaseDir: '/gate', waitSeconds: 2 }));
    await gate.code;
    expect(gate.out()).toContain('::error::factory: the lane was not released to this job within 2 s');
    expect(gate.after()).toBe('');
  });

  it.each([['INT'], ['TERM']])('ends the runner when the job is cancelled while it waits (SIG%s)', async (sig) => {
    const gate = runGate(target, jobStartedHookScript({ releaseDir: '/gate', waitSeconds: 60 }));
    await gate.signal(sig);
    await gate.code;
    expect(gate.out()).toContain('::error::factory: this lane job was cancelled before the lane was released to it');
    expect(gate.after()).toBe('');
  });

  it('reads the marker only where the controller puts it: a variable of the job cannot move it', async () => {
    writeFileSync(join(dir, 'released.json'), '{}');
    const gate = runGate(target, jobStartedHookScript({ releaseDir: '/gate/not-here', waitSeconds: 1 }), {
      FACTORY_RELEASE_DIR: '/gate',
    });
    await gate.code;
    expect(gate.after()).toBe('');
  });
});
