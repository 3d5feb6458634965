// Item 5 of the tier boundary: what a job prints of the secrets the controller handed it (its JIT config, env-file
// values) never reaches the controller's log, its timeline file or GET /jobs/ID; and `factory status --job` prints
// no terminal control sequence a job wrote.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../controller/observe/logger.js';
import { main } from '../../controller/commands/cli.js';
import { CI_LABELS, startHarness, waitFor, type Harness } from '../support/harness.js';
import { awaitReleaseShell } from '../support/release-shell.js';

let h: Harness | undefined;
let dir: string | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

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

describe('secrets a job prints', () => {
  it('are scrubbed from the log, the timeline file and GET /jobs/ID, and status --job prints no control sequences', async () => {
    dir = mkdtempSync(join(tmpdir(), 'factory-scrub-'));
    const secret = 'lin_api_Zq8vX2mK4pR7tW1yB5nC';
    writeFileSync(join(dir, 'linear.env'), `LINEAR_TOKEN=${secret}\nSHORT=on\n`, { mode: 0o600 });
    // A hostile job: echoes the env-file value (released to it, never in its environment), its raw JIT config and
    // the decoded config, then tries to clear the operator's screen and set the window title.
    const job =
      awaitReleaseShell(['LINEAR_TOKEN', 'SHORT']) +
      'echo "token=$LINEAR_TOKEN"; echo "jit=$ACTIONS_RUNNER_INPUT_JITCONFIG"; echo "$ACTIONS_RUNNER_INPUT_JITCONFIG" | base64 -d; echo; ' +
      `printf 'before\\033[2J\\033[H\\033]0;pwned\\007after\\r\\n'; echo "flag=$SHORT"`;
    const { destination, text } = captureLog();
    h = await startHarness({
      jobSeconds: 1,
      profile: { envFiles: [join(dir, 'linear.env')], env: { STANDIN_JOB_COMMAND: job } },
      log: createLogger({ destination, pretty: false }),
    });
    const jobId = await h.github.queueJob(h.repo, CI_LABELS);
    await waitFor(
      'the job to be cleaned up',
      () => h!.github.jobs.get(jobId)?.status === 'completed' && h!.service.controller.snapshot().runners.length === 0,
    );
    const jit = (
      h.github.exchanges.find((x) => x.path.endsWith('/generate-jitconfig'))!.responseBody as {
        encoded_jit_config: string;
      }
    ).encoded_jit_config;
    const decoded = Buffer.from(jit, 'base64').toString('utf8');

    const served = await (await fetch(`${h.service.statusUrl}/jobs/${jobId}`)).text();
    const stored = readFileSync(h.service.timeline.file, 'utf8');
    const lines = (JSON.parse(served) as { events: Array<{ lines?: string[] }> }).events.flatMap((e) => e.lines ?? []);
    expect(lines).toEqual(expect.arrayContaining(['token=[redacted]', 'jit=[redacted]', 'flag=on']));
    for (const [where, body] of [
      ['log', text()],
      ['timeline file', stored],
      ['GET /jobs/ID', served],
    ]) {
      expect(body, where).not.toContain(secret);
      expect(body, where).not.toContain(jit);
      expect(body, where).not.toContain(decoded);
    }

    const out: string[] = [];
    const code = await main(['status', '--job', String(jobId), '--url', h.service.statusUrl], {
      stdout: (s) => out.push(s),
      stderr: (s) => out.push(s),
    });
    expect(code).toBe(0);
    const printed = out.join('\n');
    expect(printed).toContain('  | beforeafter');
    expect(printed).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
  });
});
