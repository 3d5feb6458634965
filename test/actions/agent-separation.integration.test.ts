// The agent runs as its own user: a prompt-injected agent, with a shell, tries every route to the job's tokens and
// the runner's command files that a same-user agent had, and gets nothing. The bundled action runs as the runner's
// user, the real claude CLI as the agent's, against the loopback fake model server.
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAction, visibleLog, webhookExample } from '../support/action-run.js';
import { agentUserFixture, handLaneToRunner, RUNNER_UID } from '../support/agent-user.js';
import { startFakeGitHub, type FakeGitHub } from '../support/fake-github.js';
import { startFakeModelServer, type FakeModelServer } from '../support/fake-model-server.js';
import { freshLaneJob, laneJobEnv } from '../support/lane-job.js';
import { execFileSync } from 'node:child_process';

const GITHUB_TOKEN = 'ghs_separationtoken0123456789abcdefABCD';
const RUNTIME_TOKEN = 'actions-runtime-token-5e1f0c2d9a8b7c6d';
const PR = webhookExample('pull_request', 'opened');
const RUNNER_KEY = '{"d":"runner-rsa-private-exponent-9f8e7d6c","modulus":"m"}';

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

/** A runner's layout: _work/_temp with its command files, _work/_actions with this action's bundle, the checkout. */
function runnerLayout() {
  const lane = freshLaneJob(model.url);
  const work = join(lane.root, '_work');
  const temp = join(work, '_temp');
  const commands = join(temp, '_runner_file_commands');
  const actionDir = join(work, '_actions', 'factory', 'agent-lane', 'v1');
  mkdirSync(commands, { recursive: true });
  writeFileSync(join(commands, 'set_env_1'), 'CI=true\n');
  cpSync('dist/agent-lane', join(actionDir, 'dist', 'agent-lane'), { recursive: true });
  // The runner's registration in its home, beside _work, as the runner writes it from its JIT config.
  writeFileSync(join(lane.root, '.credentials_rsaparams'), RUNNER_KEY);
  writeFileSync(join(lane.root, '.runner'), '{"agentName":"lane-runner"}');
  mkdirSync(join(lane.root, '_diag'));
  writeFileSync(join(lane.root, '_diag', 'Runner_20260101-000000-utc.log'), `key ${RUNNER_KEY}\n`);
  handLaneToRunner(lane);
  // The runner creates these with its default umask: open to every user until the action closes them.
  execFileSync('chmod', ['-R', 'go+rX', work]);
  execFileSync('chmod', ['-R', 'go+rX', join(lane.root, '.credentials_rsaparams'), join(lane.root, '.runner')]);
  execFileSync('chmod', ['-R', 'go+rX', join(lane.root, '_diag')]);
  return {
    lane,
    temp,
    commands,
    actions: join(work, '_actions'),
    script: join(actionDir, 'dist', 'agent-lane', 'index.js'),
  };
}

describe('agent separation', () => {
  it('a build agent trying every route to the tokens and the runner files gets nothing', async () => {
    const users = agentUserFixture();
    const r = runnerLayout();
    const attempts = join(r.lane.workspace, 'attempts.txt');
    const routes = [
      'echo "uid=$(id -u)"',
      'echo "--- the action: parent of the CLI"; action=$(awk "{print \\$4}" /proc/$PPID/stat); tr "\\0" "\\n" < /proc/$action/environ 2>&1',
      'echo "--- every process"; for p in /proc/[0-9]*; do tr "\\0" "\\n" < $p/environ 2>/dev/null; done | grep -E "TOKEN|ghs_" || true',
      `echo "--- runner temp"; ls -la ${r.temp} 2>&1`,
      `echo "--- command file"; echo NODE_OPTIONS=--require=/tmp/evil.js >> ${join(r.commands, 'set_env_1')} 2>&1; echo "append=$?"`,
      `echo "--- actions"; ls -R ${r.actions} 2>&1 | head -5`,
      `echo "--- runner home"; ls -la ${r.lane.root} 2>&1`,
      `echo "--- runner key"; cat ${join(r.lane.root, '.credentials_rsaparams')} 2>&1`,
      `echo "--- runner logs"; cat ${join(r.lane.root, '_diag')}/* 2>&1`,
      `echo "--- lane copies"; cat ${join(r.lane.codexHome, 'auth.json')} ${join(r.lane.claudeConfigDir, '.credentials.json')} 2>&1`,
      `echo "--- the checkout's git config"; echo '[core] fsmonitor = true' >> ${join(r.lane.workspace, '.git', 'config')} 2>&1; echo "gitconfig=$?"`,
    ].join('; ');
    model.script('anthropic', [
      {
        kind: 'tool',
        name: 'Bash',
        // Written in its own tree, which the checkout gets back after the run.
        input: { command: `{ ${routes}; } > attempts.txt 2>&1`, description: 'look around' },
      },
      { kind: 'text', text: 'Done.' },
    ]);

    const run = await runAction({
      action: 'agent-lane',
      script: r.script,
      runAs: users.runAs,
      inputs: {
        agent: 'claude',
        mode: 'build',
        prompt: 'Build it.',
        'allowed-tools': 'Bash',
        report: 'summary',
        'check-actor': 'false',
        'github-token': GITHUB_TOKEN,
        'timeout-minutes': '1',
      },
      event: { name: 'pull_request', payload: PR },
      env: {
        ...laneJobEnv(r.lane, 'claude', { model: model.url, github: github.url }),
        ...users.env,
        RUNNER_TEMP: r.temp,
        ACTIONS_RUNTIME_TOKEN: RUNTIME_TOKEN,
      },
    });

    expect(run.exitCode, visibleLog(run.stdout) + run.stderr).toBe(0);
    const seen = readFileSync(attempts, 'utf8');
    expect(seen).toContain(`uid=${users.agentUid}`);
    for (const secret of [GITHUB_TOKEN, RUNTIME_TOKEN, ...r.lane.secrets]) expect(seen).not.toContain(secret);
    expect(seen).toMatch(/--- the action: parent of the CLI\n.*Permission denied/);
    expect(seen).toMatch(/--- runner temp\n.*Permission denied/);
    expect(seen).toMatch(/append=[1-9]/);
    expect(seen).toMatch(/--- actions\n.*Permission denied/);
    expect(seen).toMatch(/--- runner home\n.*Permission denied/);
    expect(seen).toMatch(/--- runner key\n.*Permission denied/);
    expect(seen).not.toContain('runner-rsa-private-exponent');
    expect(seen).toMatch(/gitconfig=[1-9]/);
    expect(readFileSync(join(r.commands, 'set_env_1'), 'utf8')).toBe('CI=true\n');
    expect(RUNNER_UID).not.toBe(users.agentUid);
  });

  it('build mode on a lane without an agent user is refused, saying why', async () => {
    const lane = freshLaneJob(model.url);
    const run = await runAction({
      action: 'agent-lane',
      inputs: {
        agent: 'claude',
        mode: 'build',
        prompt: 'Build it.',
        report: 'summary',
        'check-actor': 'false',
        'github-token': GITHUB_TOKEN,
      },
      event: { name: 'pull_request', payload: PR },
      env: laneJobEnv(lane, 'claude', { model: model.url, github: github.url }),
    });

    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain(
      '::error::input "mode": build runs the agent as its own user, apart from the runner and this action, and this lane cannot: ' +
        "FACTORY_AGENT_USER and FACTORY_AGENT_EXEC are not set: this lane's image and profile provide no agent user. See docs/lane-isolation.md",
    );
  });

  it('an agent user the helper cannot switch to is refused too', async () => {
    const users = agentUserFixture();
    const r = runnerLayout();
    const run = await runAction({
      action: 'agent-lane',
      script: r.script,
      runAs: users.runAs,
      inputs: {
        agent: 'claude',
        mode: 'build',
        prompt: 'Build it.',
        report: 'summary',
        'check-actor': 'false',
        'github-token': GITHUB_TOKEN,
      },
      event: { name: 'pull_request', payload: PR },
      // /bin/true in place of the helper: it "succeeds" without switching, and the probe sees the action's uid.
      env: {
        ...laneJobEnv(r.lane, 'claude', { model: model.url, github: github.url }),
        ...users.env,
        FACTORY_AGENT_EXEC: '/bin/true',
        RUNNER_TEMP: r.temp,
      },
    });

    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(/::error::input "mode": build runs the agent as its own user.*this lane cannot: /);
  });

  it('a runner key the action cannot close refuses build mode: the probe reads it as the agent', async () => {
    const users = agentUserFixture();
    const r = runnerLayout();
    // Not the runner's to chmod (root's, world-readable): the action cannot close it, and must not go on.
    execFileSync('chown', ['0:0', join(r.lane.root, '.credentials_rsaparams')]);
    const run = await runAction({
      action: 'agent-lane',
      script: r.script,
      runAs: users.runAs,
      inputs: {
        agent: 'claude',
        mode: 'build',
        prompt: 'Build it.',
        report: 'summary',
        'check-actor': 'false',
        'github-token': GITHUB_TOKEN,
      },
      event: { name: 'pull_request', payload: PR },
      env: {
        ...laneJobEnv(r.lane, 'claude', { model: model.url, github: github.url }),
        ...users.env,
        RUNNER_TEMP: r.temp,
      },
    });

    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain(`the agent can read ${join(r.lane.root, '.credentials_rsaparams')}`);
  });
});
