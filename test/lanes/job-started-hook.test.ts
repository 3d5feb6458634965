// The gate a lane runner runs before a job's first step (ACTIONS_RUNNER_HOOK_JOB_STARTED), run by the shells lane
// images have: it holds the job until the release marker appears, fails it when none comes, and then runs a
// profile's own hook.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jobStartedHookScript, NEXT_HOOK_VARIABLE } from '../../controller/lanes/job-started-hook.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'factory-hook-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function run(shell: string[], script: string, env: Record<string, string> = {}) {
  const file = join(dir, 'job-started.sh');
  writeFileSync(file, script, { mode: 0o755 });
  const child = spawn(shell[0]!, [...shell.slice(1), file], { env: { PATH: process.env.PATH!, ...env } });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const code = new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, out: () => out };
}

describe.each([[['sh']], [['busybox', 'sh']]])('the job-started gate under %j', (shell) => {
  it('holds the job until the marker appears, then runs the profile’s own hook', async () => {
    const next = join(dir, 'own-hook.sh');
    writeFileSync(next, '#!/bin/sh\necho own hook ran\n', { mode: 0o755 });
    const gate = run(shell, jobStartedHookScript({ releaseDir: dir, waitSeconds: 30 }), { [NEXT_HOOK_VARIABLE]: next });
    await new Promise((r) => setTimeout(r, 1500));
    expect(gate.out()).toBe(''); // still waiting: no step may run yet
    writeFileSync(join(dir, 'released.json'), '{}');
    expect(await gate.code).toBe(0);
    expect(gate.out()).toMatch(/^factory: lane released to this job after [12] s\nown hook ran\n$/);
  });

  it('fails the job, saying why, when no release comes in time', async () => {
    const gate = run(shell, jobStartedHookScript({ releaseDir: dir, waitSeconds: 2 }));
    expect(await gate.code).toBe(1);
    expect(gate.out()).toContain('::error::factory: the lane was not released to this job within 2 s');
  });

  it('reads the marker only where the controller puts it: a variable of the job cannot move it', async () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'factory-hook-elsewhere-'));
    writeFileSync(join(elsewhere, 'released.json'), '{}');
    try {
      const gate = run(shell, jobStartedHookScript({ releaseDir: dir, waitSeconds: 1 }), {
        FACTORY_RELEASE_DIR: elsewhere,
      });
      expect(await gate.code).toBe(1);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });
});
