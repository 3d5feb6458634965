// What a job prints of the secrets the controller handed it (its JIT config, the release's env-file values,
// secrets-folder files and gh login, in whatever form) never reaches the controller's log, its timeline file or
// GET /jobs/ID: a lane job's output is not kept at all; and `factory status --job` prints no terminal control
// sequence.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { LANE_TAIL_WITHHELD } from '../../controller/lanes/release.js';
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
  it('a lane job printing what the release gave it, in any form, gets none of it into the log, the timeline file or GET /jobs/ID', async () => {
    dir = mkdtempSync(join(tmpdir(), 'factory-scrub-'));
    const secret = 'lin_api_Zq8vX2mK4pR7tW1yB5nC';
    const fileSecret = 'sk_live_FolderSecret7Hq2Lw9';
    const ghToken = 'gho_GhLoginReleasedOnly4Lane0';
    writeFileSync(join(dir, 'linear.env'), `LINEAR_TOKEN=${secret}\nSHORT=on\n`, { mode: 0o600 });
    mkdirSync(join(dir, 'secrets'));
    writeFileSync(join(dir, 'secrets', 'stripe'), `${fileSecret}\n`, { mode: 0o644 });
    mkdirSync(join(dir, 'gh'));
    writeFileSync(join(dir, 'gh', 'hosts.yml'), `github.com:\n    oauth_token: ${ghToken}\n`, { mode: 0o644 });
    // A hostile job: prints each released value raw, base64, reversed and spaced out, its raw and decoded JIT
    // config, then tries to clear the operator's screen and set the window title.
    const forms = (v: string) => `echo "${v}"; echo "${v}" | base64; echo "${v}" | rev; echo "${v}" | sed 's/./& /g'; `;
    const job =
      awaitReleaseShell(['LINEAR_TOKEN', 'SHORT']) +
      'gh=$(sed -n "s/.*oauth_token: //p" /gh/hosts.yml); file=$(cat /secrets/stripe); ' +
      forms('$LINEAR_TOKEN') +
      forms('$gh') +
      forms('$file') +
      'echo "jit=$ACTIONS_RUNNER_INPUT_JITCONFIG"; echo "$ACTIONS_RUNNER_INPUT_JITCONFIG" | base64 -d; echo; ' +
      `printf 'before\\033[2J\\033[H\\033]0;pwned\\007after\\r\\n'; echo "flag=$SHORT"`;
    const { destination, text } = captureLog();
    h = await startHarness({
      jobSeconds: 1,
      profile: {
        envFiles: [join(dir, 'linear.env')],
        mounts: [
          { kind: 'secrets', source: join(dir, 'secrets'), target: '/secrets' },
          { kind: 'gh', source: join(dir, 'gh'), target: '/gh' },
        ],
        env: { STANDIN_JOB_COMMAND: job },
      },
      log: createLogger({ destination, pretty: false }),
    });
    const jobId = await h.github.queueJob(h.repo, CI_LABELS);
    await waitFor(
      'the job to be cleaned up',
      () => h!.github.jobs.get(jobId)?.status === 'completed' && h!.service.controller.snapshot().runners.length === 0,
      60_000,
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
    // The lane job's output is not kept at all; the note says where to look instead.
    expect(lines).toEqual([LANE_TAIL_WITHHELD]);
    const released = [secret, fileSecret, ghToken];
    const b64 = (v: string) => Buffer.from(`${v}\n`).toString('base64');
    const rev = (v: string) => [...v].reverse().join('');
    const spaced = (v: string) => [...v].join(' ');
    for (const [where, body] of [
      ['log', text()],
      ['timeline file', stored],
      ['GET /jobs/ID', served],
    ]) {
      for (const v of released) {
        for (const form of [v, b64(v), rev(v), spaced(v)]) expect(body, `${where}: ${form}`).not.toContain(form);
      }
      expect(body, where).not.toContain(jit);
      expect(body, where).not.toContain(decoded);
      expect(body, where).not.toContain('flag=on');
    }

    const out: string[] = [];
    const code = await main(['status', '--job', String(jobId), '--url', h.service.statusUrl], {
      stdout: (s) => out.push(s),
      stderr: (s) => out.push(s),
    });
    expect(code).toBe(0);
    const printed = out.join('\n');
    expect(printed).toContain(LANE_TAIL_WITHHELD);
    expect(printed).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
  });
});
