// The controller's JSON log for one job: every line about the job names its repo and job id, every line about its
// runner names the runner, and no line carries the JIT config or a token.
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../controller/observe/logger.js';
import { CI_LABELS, startHarness, waitFor, type Harness } from '../support/harness.js';

let h: Harness | undefined;

/** A log destination kept in memory, read back as text. */
function captureLog() {
  let captured = '';
  const destination = new Writable({
    write(chunk, _enc, done) {
      captured += chunk.toString();
      done();
    },
  });
  return { destination, text: () => captured };
}
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

describe('controller log', () => {
  it('names repo, job id and runner on every line about a job and never carries the JIT config or the token', async () => {
    const { destination, text } = captureLog();
    h = await startHarness({ jobSeconds: 1, log: createLogger({ destination, level: 'debug', pretty: false }) });
    const jobId = await h.github.queueJob(h.repo, CI_LABELS);
    await waitFor(
      'the job to finish and be cleaned up',
      () => h!.github.jobs.get(jobId)?.status === 'completed' && h!.service.controller.snapshot().runners.length === 0,
    );

    const lines = text()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const aboutJob = lines.filter((l) => l.jobId === jobId);
    expect(aboutJob.every((l) => l.repo === h!.repo)).toBe(true);
    const runner = h.github.jobs.get(jobId)!.runnerName;
    for (const msg of [
      'runner registered (JIT)',
      'container started',
      'runner picked up job',
      'runner container finished',
      'runner cleaned up',
    ]) {
      expect(
        aboutJob.find((l) => l.msg === msg),
        msg,
      ).toMatchObject({ runner });
    }

    const jit = h.github.exchanges.find((x) => x.path.endsWith('/generate-jitconfig'))!.responseBody as {
      encoded_jit_config: string;
    };
    expect(text()).not.toContain(jit.encoded_jit_config);
    expect(text()).not.toMatch(/ghs_[0-9a-f]{24}/);
  });
});

describe('runner output in the controller log', () => {
  it('redacts a token a job on a profile that carries no credential printed before its last lines reach the log', async () => {
    const { destination, text } = captureLog();
    const leaked = 'ghp_' + 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8';
    h = await startHarness({
      jobSeconds: 1,
      profile: { env: { STANDIN_JOB_COMMAND: `echo "token is ${leaked}"` } },
      log: createLogger({ destination, pretty: false }),
    });
    const jobId = await h.github.queueJob(h.repo, CI_LABELS);
    await waitFor(
      'the job to be cleaned up',
      () => h!.github.jobs.get(jobId)?.status === 'completed' && h!.service.controller.snapshot().runners.length === 0,
    );

    const finished = text()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { msg: string; lastLines?: string[] })
      .find((l) => l.msg === 'runner container finished');
    // The harness's profile is trusted for its host network but carries no credential: its tail is kept, redacted line
    // by line (a lane whose release holds credentials keeps none: test/observe/job-secrets.e2e.test.ts).
    expect(finished?.lastLines).toContain('token is [redacted]');
    expect(text()).not.toContain(leaked);
  });
});
