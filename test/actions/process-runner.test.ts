import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeProcessRunner } from '../../actions/lane-core/process-runner.js';

const base = { cwd: tmpdir(), env: { PATH: process.env.PATH ?? '' }, stdin: '', timeoutMs: 10_000 };

function isRunning(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

describe('process runner', () => {
  it('hands stdout over line by line, feeds stdin, and reports the exit code', async () => {
    const lines: string[] = [];
    const result = await nodeProcessRunner.run({
      ...base,
      command: 'bash',
      args: ['-c', 'read p; echo "got $p"; echo second; echo oops >&2; exit 3'],
      stdin: 'prompt\n',
      onLine: (l) => lines.push(l),
    });

    expect(lines).toEqual(['got prompt', 'second']);
    expect(result).toMatchObject({ exitCode: 3, timedOut: false });
    expect(result.stderr).toMatch(/oops\n$/);
  });

  it('at the deadline kills the tree, including a child that left for its own session', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tree-'));
    const script = `setsid sleep 300 & echo $! > ${dir}/escaped.pid; sleep 300 & echo $! > ${dir}/child.pid; echo ready; wait`;
    // As below: the deadline must come after the shell has written both pids, which takes seconds on a loaded machine.
    const result = await nodeProcessRunner.run({
      ...base,
      command: 'sh',
      args: ['-c', script],
      timeoutMs: 8_000,
      onLine: () => undefined,
    });

    expect(result.timedOut).toBe(true);
    for (const file of ['escaped.pid', 'child.pid'])
      expect(isRunning(Number(readFileSync(join(dir, file), 'utf8'))), file).toBe(false);
  });

  it('a tree that ignores SIGTERM at the deadline is killed after the grace period', { timeout: 20_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tree-'));
    const script = `trap '' TERM; (trap '' TERM; sleep 300) & echo $! > ${dir}/child.pid; while :; do sleep 1; done`;
    // The deadline must come after the shell has run its trap: dash, which reads no start-up files, and a deadline
    // with room for a machine under load (a load of 15 on 2 cores delayed bash past 3 s).
    const result = await nodeProcessRunner.run({
      ...base,
      command: 'sh',
      args: ['-c', script],
      timeoutMs: 8_000,
      onLine: () => undefined,
    });

    expect(result).toMatchObject({ timedOut: true, signal: 'SIGKILL' });
    expect(isRunning(Number(readFileSync(join(dir, 'child.pid'), 'utf8')))).toBe(false);
  });

  it('a process that left the tree holding stdout open does not hold the run once the CLI exited', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tree-'));
    // Its own session and an empty environment: neither the process group nor the run marker reaches it. The CLI
    // waits until the process has left its group (it writes its pid from inside the new session), since on a busy
    // machine the exit's group kill could otherwise come before setsid does.
    const script =
      `setsid sh -c 'echo $$ > ${dir}/held.pid; exec env -i sleep 120' & ` +
      `while [ ! -s ${dir}/held.pid ]; do sleep 0.05; done; echo answer`;
    const lines: string[] = [];
    const result = await nodeProcessRunner.run({
      ...base,
      command: 'sh',
      args: ['-c', script],
      timeoutMs: 60_000,
      onLine: (l) => lines.push(l),
    });

    expect(result).toMatchObject({ exitCode: 0, timedOut: false, outputHeldOpen: true });
    expect(lines).toEqual(['answer']);
    process.kill(Number(readFileSync(join(dir, 'held.pid'), 'utf8')), 'SIGKILL');
  });

  it('a CLI that exits with its output closed is not reported as held open', async () => {
    const result = await nodeProcessRunner.run({ ...base, command: 'true', args: [], onLine: () => undefined });

    expect(result.outputHeldOpen).toBe(false);
  });

  it('reports the spawn once the process runs, and not for a command that cannot start', async () => {
    let spawned = 0;
    await nodeProcessRunner.run({
      ...base,
      command: 'true',
      args: [],
      onLine: () => undefined,
      onSpawn: () => spawned++,
    });
    await nodeProcessRunner
      .run({ ...base, command: 'no-such-cli-here', args: [], onLine: () => undefined, onSpawn: () => spawned++ })
      .catch(() => undefined);

    expect(spawned).toBe(1);
  });

  it('rejects when the command does not exist', async () => {
    await expect(
      nodeProcessRunner.run({ ...base, command: 'no-such-cli-here', args: [], onLine: () => undefined }),
    ).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
