// `factory demo` as a newcomer runs it: a numbered story of one job's life on stdout, not the controller's JSON, and
// the log behind it one line per event when asked for with --log-level.
import { describe, expect, it } from 'vitest';
import { spawnFactory } from '../support/factory-source.js';

async function demo(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawnFactory(['demo', ...args], { env: { ...process.env, NO_COLOR: '1' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stdout, stderr };
}

const STEPS = [
  /^ 1\. The controller listens for GitHub's workflow_job webhooks at http:\/\/127\.0\.0\.1:\d+\/webhook\.$/,
  /^ 2\. It asks GitHub about factory-demo\/hello-world, the repo it serves: reachable, token accepted\.$/,
  /^ 3\. A webhook arrives: job \d+ is queued with labels \[self-hosted, factory, ci\], which profile "ci" covers/,
  /^ 4\. It registers a single-use runner for the job with GitHub's JIT API: factory\.demo-/,
  /^ 5\. It starts that runner in a fresh container \([0-9a-f]{12}\), \d+ ms after the webhook\.$/,
  /^ 6\. The runner connects to GitHub and is given job \d+\.$/,
  /^ 7\. The job ends and the container exits\. Its last lines:$/,
  /^ 8\. The controller removes the container and deregisters the runner/,
];

describe('factory demo', () => {
  it('tells one job end to end as numbered steps, with no raw JSON log line', async () => {
    const r = await demo('--timeout', '120');
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    const steps = lines.filter((l) => /^ ?\d+\. /.test(l));
    expect(steps).toHaveLength(STEPS.length);
    STEPS.forEach((pattern, i) => expect(steps[i]).toMatch(pattern));
    expect(lines).toContainEqual(expect.stringMatching(/^ {6}\| Job \d+ completed with result: Succeeded$/));
    expect(lines.some((l) => l.trimStart().startsWith('{'))).toBe(false);
    expect(r.stdout).toMatch(/\nDone: job \d+ of factory-demo\/hello-world ran in its own container/);
  });

  it('shows the controller log one line per event beside the story with --log-level info', async () => {
    const r = await demo('--log-level', 'info');
    expect(r.code, r.stderr).toBe(0);
    const logLines = r.stdout.split('\n').filter((l) => /^ {4}\d\d:\d\d:\d\d (INFO|WARN) /.test(l));
    expect(logLines.map((l) => l.replace(/^ {4}\S+ \S+ +/, '').split('  ')[0])).toEqual(
      expect.arrayContaining([
        'job taken',
        'container started',
        'runner cleaned up',
        'controller stopped; no runner containers were left running',
      ]),
    );
    expect(r.stdout).not.toContain('\x1b[');
  });

  it('refuses a log level that is not one, naming the ones it takes', async () => {
    const r = await demo('--log-level', '30');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      "argument '30' is invalid. Allowed choices are trace, debug, info, warn, error, fatal, silent",
    );
  });
});
