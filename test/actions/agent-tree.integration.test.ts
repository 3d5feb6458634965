// A build agent works in a tree of its own, and the runner's user runs git only in the checkout, which the agent
// never writes: what the agent plants in a `.git` runs nothing when later steps (actions/checkout's post step, a
// commit-and-push step) run git there. Its working-tree edits still arrive; its processes all end with the run.
// The bundled action runs as the runner's user, the real claude CLI as the agent's (the agent user fixture).
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAction, visibleLog, webhookExample, type ActionRun } from '../support/action-run.js';
import { agentUserFixture, handLaneToRunner, RUNNER_UID } from '../support/agent-user.js';
import { startFakeGitHub, type FakeGitHub } from '../support/fake-github.js';
import { startFakeModelServer, type FakeModelServer } from '../support/fake-model-server.js';
import { freshLaneJob, laneJobEnv, type LaneJob } from '../support/lane-job.js';

const PR = webhookExample('pull_request', 'opened');

let model: FakeModelServer;
let github: FakeGitHub;
beforeAll(async () => {
  model = await startFakeModelServer();
  github = await startFakeGitHub();
});
afterAll(async () => {
  await model?.close();
  await github?.close();
});

/** A checkout as actions/checkout leaves it: one commit, a clean tree. */
function checkedOutLane(): LaneJob {
  const lane = freshLaneJob(model.url);
  writeFileSync(join(lane.workspace, 'old.txt'), 'to be removed\n');
  writeFileSync(join(lane.workspace, 'run.sh'), '#!/bin/sh\necho run\n');
  const git = (...args: string[]) => execFileSync('git', ['-C', lane.workspace, ...args]);
  git('add', '-A');
  git('-c', 'user.name=checkout', '-c', 'user.email=checkout@example.com', 'commit', '-qm', 'base');
  return lane;
}

/** A folder every user may write: where the agent leaves its traces and a planted command would leave its own. */
function dropFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'agent-drop-'));
  chmodSync(dir, 0o777);
  return dir;
}

async function buildRun(lane: LaneJob, command: string): Promise<ActionRun> {
  const users = agentUserFixture();
  handLaneToRunner(lane);
  model.script('anthropic', [
    { kind: 'tool', name: 'Bash', input: { command, description: 'work' } },
    { kind: 'text', text: 'Done.' },
  ]);
  return runAction({
    action: 'agent-lane',
    runAs: users.runAs,
    inputs: {
      agent: 'claude',
      mode: 'build',
      prompt: 'Build it.',
      'allowed-tools': 'Bash',
      report: 'summary',
      'check-actor': 'false',
      'timeout-minutes': '1',
    },
    event: { name: 'pull_request', payload: PR },
    env: { ...laneJobEnv(lane, 'claude', { model: model.url, github: github.url }), ...users.env },
  });
}

/** git in the checkout as the runner's user, as the job's later steps run it. */
function gitAsRunner(lane: LaneJob, args: string[]): string {
  const r = spawnSync(
    'setpriv',
    [`--reuid=${RUNNER_UID}`, `--regid=${RUNNER_UID}`, '--clear-groups', '--', 'git', ...args],
    {
      cwd: lane.workspace,
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOME: join(lane.root, 'home'), GIT_TERMINAL_PROMPT: '0' },
    },
  );
  return `${r.stdout}${r.stderr}`;
}

function isRunning(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

describe('a build agent in its own tree', () => {
  it("what the agent plants in .git (core.fsmonitor, core.hooksPath, hooks) runs nothing when the runner's user runs git in the checkout", async () => {
    const lane = checkedOutLane();
    const drop = dropFolder();
    const ran = join(drop, 'ran');
    const hook = `#!/bin/sh\\necho "$0" >> ${ran}\\n`;
    // The agent plants in the repository it works in and, knowing the path, in the checkout's own .git.
    const plant = (repo: string) =>
      [
        `mkdir -p ${repo}/.git/hooks`,
        ...['post-checkout', 'pre-commit'].map(
          (name) => `printf '${hook}' > ${repo}/.git/hooks/${name}; chmod +x ${repo}/.git/hooks/${name}`,
        ),
        `git -C ${repo} config core.fsmonitor "echo fsmonitor >> ${ran}; false"`,
        `git -C ${repo} config core.hooksPath ${drop}/hooks`,
      ].join('; ');
    const command = [
      `mkdir -p ${drop}/hooks`,
      `printf '${hook}' > ${drop}/hooks/post-checkout; chmod +x ${drop}/hooks/post-checkout`,
      `cp ${drop}/hooks/post-checkout ${drop}/hooks/pre-commit`,
      plant('.'),
      plant(lane.workspace),
      'echo planted > src/planted.txt',
      `touch ${drop}/agent-ran`,
    ].join('; ');

    const run = await buildRun(lane, `{ ${command}; } > ${drop}/agent.log 2>&1`);

    expect(run.exitCode, visibleLog(run.stdout) + run.stderr).toBe(0);
    expect(existsSync(join(drop, 'agent-ran')), readFileSync(join(drop, 'agent.log'), 'utf8')).toBe(true);
    // actions/checkout's post step, then a commit-and-push step as the agent-lane README has it.
    const said = [
      gitAsRunner(lane, ['status', '--porcelain']),
      gitAsRunner(lane, ['submodule', 'foreach', '--recursive', 'true']),
      gitAsRunner(lane, ['switch', '-c', 'agent-lane/work']),
      gitAsRunner(lane, ['add', '-A']),
      gitAsRunner(lane, ['-c', 'user.name=runner', '-c', 'user.email=runner@example.com', 'commit', '-qm', 'agent']),
    ].join('\n');
    expect(existsSync(ran), `planted commands ran: ${existsSync(ran) && readFileSync(ran, 'utf8')}`).toBe(false);
    expect(said).toContain('src/planted.txt');
    expect(readFileSync(join(lane.workspace, '.git', 'config'), 'utf8')).not.toMatch(/fsmonitor|hooksPath/);
  });

  it("the agent's edits arrive in the checkout: a new file, a changed one, a deleted one, an executable bit, a link", async () => {
    const lane = checkedOutLane();
    const drop = dropFolder();
    const before = readFileSync(join(lane.workspace, '.git', 'config'), 'utf8');
    const command = [
      "sed -i 's/41/42/' src/app.ts",
      'mkdir -p src/lib && echo "export const two = 2;" > src/lib/two.ts',
      'rm old.txt',
      'chmod +x run.sh',
      'ln -s lib/two.ts src/two-link.ts',
      // Its own repository, cloned from the checkout: git works for it.
      `git status --porcelain > ${drop}/agent-status.txt`,
    ].join(' && ');

    const run = await buildRun(lane, `{ ${command}; } > ${drop}/agent.log 2>&1`);

    expect(run.exitCode, visibleLog(run.stdout) + run.stderr).toBe(0);
    const ws = lane.workspace;
    expect(readFileSync(join(ws, 'src', 'app.ts'), 'utf8')).toBe('export const answer = 42;\n');
    expect(readFileSync(join(ws, 'src', 'lib', 'two.ts'), 'utf8')).toBe('export const two = 2;\n');
    expect(existsSync(join(ws, 'old.txt'))).toBe(false);
    expect(lstatSync(join(ws, 'run.sh')).mode & 0o111).not.toBe(0);
    expect(readlinkSync(join(ws, 'src', 'two-link.ts'))).toBe('lib/two.ts');
    // The checkout's files stay the runner's; its git config is as checked out.
    expect(lstatSync(join(ws, 'src', 'lib', 'two.ts')).uid).toBe(RUNNER_UID);
    expect(readFileSync(join(ws, '.git', 'config'), 'utf8')).toBe(before);
    expect(gitAsRunner(lane, ['status', '--porcelain']).split('\n').sort().filter(Boolean)).toEqual([
      ' D old.txt',
      ' M run.sh',
      ' M src/app.ts',
      '?? src/lib/',
      '?? src/two-link.ts',
    ]);
    expect(readFileSync(join(drop, 'agent-status.txt'), 'utf8')).toContain(' M src/app.ts');
    expect(run.stdout).toMatch(/handed back to .*: \d+ change\(s\)/);
  });

  it('an agent process that daemonized and dropped the run marker is gone after the run', async () => {
    const lane = checkedOutLane();
    const drop = dropFolder();
    const pidFile = join(drop, 'daemon.pid');
    // Double fork, a new session, an environment without FACTORY_LANE_RUN: neither the process group nor the
    // marker reaches it; only its uid does.
    const daemon = `( env -i PATH=/usr/bin:/bin setsid -f sh -c 'env > ${drop}/daemon.env; echo $$ > ${pidFile}.tmp && mv ${pidFile}.tmp ${pidFile}; exec sleep 600' </dev/null >/dev/null 2>&1 & ); while [ ! -s ${pidFile} ]; do sleep 0.1; done`;

    const run = await buildRun(lane, daemon);

    expect(run.exitCode, visibleLog(run.stdout) + run.stderr).toBe(0);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    const alive = isRunning(pid);
    if (alive) process.kill(pid, 'SIGKILL');
    expect(readFileSync(join(drop, 'daemon.env'), 'utf8')).not.toContain('FACTORY_LANE_RUN');
    expect(alive).toBe(false);
  });
});
