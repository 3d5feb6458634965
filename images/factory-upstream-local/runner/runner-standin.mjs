// The runner stand-in in factory/base: what the official runner does for one job, against the GitHub stand-in. It
// reads the JIT config from the environment, takes one job, and when the job message names an action runs it as the
// runner runs a node action: the action's files under _work/_actions, INPUT_* and GITHUB_* variables, the event in
// GITHUB_EVENT_PATH, file commands (GITHUB_OUTPUT, GITHUB_ENV, GITHUB_PATH, GITHUB_STATE, GITHUB_STEP_SUMMARY) in a
// per-job temp folder it removes afterwards. It reports the step's exit code and outputs, then exits, as an ephemeral
// runner does. It talks only to the URL in the JIT config.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const jit = process.env.ACTIONS_RUNNER_INPUT_JITCONFIG;
if (!jit) {
  console.error('ACTIONS_RUNNER_INPUT_JITCONFIG is not set');
  process.exit(2);
}
const url = JSON.parse(Buffer.from(jit, 'base64').toString('utf8'))['.standin']?.url;
if (!url) {
  console.error('JIT config has no stand-in URL');
  process.exit(2);
}

const post = async (path, body) =>
  (
    await fetch(`${url}/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body ?? {}),
      signal: AbortSignal.timeout(10_000),
    })
  ).json();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

console.log(`Connected to GitHub (stand-in) as ${process.getuid()}:${process.getgid()}`);
console.log('Listening for Jobs');
let answer;
for (;;) {
  answer = await post('run').catch(() => ({ job: null }));
  if (answer.job) break;
  await sleep(500);
}
console.log(`Running job: ${answer.job}`);

/** GITHUB_OUTPUT holds `name=value` lines and `name<<DELIMITER ... DELIMITER` blocks. */
function parseFileCommand(text) {
  const out = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const heredoc = /^([^=<]+)<<(.+)$/.exec(lines[i]);
    if (heredoc) {
      const end = lines.indexOf(heredoc[2], i + 1);
      out[heredoc[1]] = lines.slice(i + 1, end).join('\n');
      i = end;
    } else if (lines[i].includes('=')) {
      out[lines[i].slice(0, lines[i].indexOf('='))] = lines[i].slice(lines[i].indexOf('=') + 1);
    }
  }
  return out;
}

async function runAction(message) {
  const work = join(process.env.HOME ?? '/home/runner', '_work');
  const repoName = (message.context.GITHUB_REPOSITORY ?? 'o/r').split('/')[1];
  const workspace = join(work, repoName, repoName);
  const temp = join(work, '_temp', String(answer.job));
  const actionDir = join(work, '_actions', message.action);
  for (const dir of [workspace, temp, actionDir]) mkdirSync(dir, { recursive: true });
  spawnSync('git', ['init', '-q', workspace]);
  const base = `${new URL(url).origin}/_standin/actions/${message.action}/`;
  const listing = await fetch(base);
  if (!listing.ok) throw new Error(`action ${message.action}: its file list answered ${listing.status}`);
  for (const file of await listing.json()) {
    const res = await fetch(`${base}${file}`);
    if (!res.ok) throw new Error(`action ${message.action}: ${file} answered ${res.status}`);
    writeFileSync(join(actionDir, file), Buffer.from(await res.arrayBuffer()));
  }
  const files = {
    GITHUB_OUTPUT: 'output',
    GITHUB_ENV: 'env',
    GITHUB_PATH: 'path',
    GITHUB_STATE: 'state',
    GITHUB_STEP_SUMMARY: 'summary.md',
  };
  const fileEnv = {};
  for (const [name, file] of Object.entries(files)) {
    fileEnv[name] = join(temp, file);
    writeFileSync(fileEnv[name], '');
  }
  const eventPath = join(temp, 'event.json');
  writeFileSync(eventPath, JSON.stringify(message.event.payload));
  // The runner hands a step its context and inputs, never its own registration.
  const { ACTIONS_RUNNER_INPUT_JITCONFIG: _jit, ...inherited } = process.env;
  const env = {
    ...inherited,
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: workspace,
    GITHUB_EVENT_NAME: message.event.name,
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_ACTION_PATH: actionDir,
    RUNNER_TEMP: temp,
    RUNNER_WORKSPACE: join(work, repoName),
    ...fileEnv,
    ...message.context,
    ...Object.fromEntries(
      Object.entries(message.inputs).map(([k, v]) => [`INPUT_${k.replace(/ /g, '_').toUpperCase()}`, v]),
    ),
  };
  const child = spawn(process.execPath, [join(actionDir, 'index.js')], { env, cwd: workspace, stdio: 'inherit' });
  const exitCode = await new Promise((resolve) => child.on('close', (code) => resolve(code ?? 1)));
  const outputs = parseFileCommand(readFileSync(fileEnv.GITHUB_OUTPUT, 'utf8'));
  const summary = readFileSync(fileEnv.GITHUB_STEP_SUMMARY, 'utf8');
  rmSync(temp, { recursive: true, force: true });
  rmSync(actionDir, { recursive: true, force: true });
  return { exitCode, outputs, summary };
}

// The official runner's step loop, as actions/runner runs it: JobExtension.InitializeJob puts the
// ACTIONS_RUNNER_HOOK_JOB_STARTED hook first among the job's steps with the condition success(); StepsRunner.RunAsync
// merges each failed step into the job's result and evaluates every later step's `if:` against it (always() and
// failure() run after a failure; on the job's cancellation it marks the job Canceled, and always() and cancelled()
// run); ProcessInvoker.CancelAndKillProcessTree cancels a running step by SIGINT, then SIGTERM 7.5 s later, then kills
// it 2.5 s after that. Steps beyond the action come from STANDIN_FAILURE_COMMAND (if: failure()) and
// STANDIN_ALWAYS_COMMAND (if: always()).
let status = 'success';
const shouldRun = (condition) => condition === 'always' || condition === status;

/** Runs one step's process, cancelling it as the runner does when GitHub cancels the job. */
async function runStep(command, args) {
  const child = spawn(command, args, { stdio: 'inherit' });
  const exited = new Promise((resolve) => child.on('close', (code) => resolve(code ?? 1)));
  let cancelled = false;
  const watch = (async () => {
    while (child.exitCode === null && child.signalCode === null) {
      const answer = await post('cancelled').catch(() => ({ cancelled: false }));
      if (answer.cancelled) {
        cancelled = true;
        for (const [signal, ms] of [
          ['SIGINT', 7500],
          ['SIGTERM', 2500],
          ['SIGKILL', 0],
        ]) {
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.kill(signal);
          await Promise.race([exited, sleep(ms)]);
        }
        return;
      }
      await Promise.race([exited, sleep(500)]);
    }
  })();
  const code = await exited;
  await watch;
  if (cancelled) status = 'cancelled';
  else if (code !== 0 && status === 'success') status = 'failure';
}

let result = { exitCode: 0, outputs: {} };
const hook = process.env.ACTIONS_RUNNER_HOOK_JOB_STARTED;
if (hook) {
  await runStep('sh', [hook]);
  if (status !== 'success') console.error('##[error]The job started hook failed');
}
if (shouldRun('success')) {
  if (answer.message) {
    result = await runAction(answer.message).catch((err) => {
      console.error(`##[error]${err.message}`);
      return { exitCode: 1, outputs: {} };
    });
    if (result.exitCode !== 0) status = 'failure';
  } else {
    if (process.env.STANDIN_JOB_COMMAND) await runStep('sh', ['-c', process.env.STANDIN_JOB_COMMAND]);
    if (status === 'success') await sleep(1000 * (answer.seconds ?? 1));
  }
}
if (process.env.STANDIN_FAILURE_COMMAND && shouldRun('failure')) {
  await runStep('sh', ['-c', process.env.STANDIN_FAILURE_COMMAND]);
}
if (process.env.STANDIN_ALWAYS_COMMAND && shouldRun('always')) {
  await runStep('sh', ['-c', process.env.STANDIN_ALWAYS_COMMAND]);
}
if (status !== 'success' && result.exitCode === 0) result = { exitCode: 1, outputs: {} };
await post('done', result).catch(() => undefined);
const conclusion = { success: 'Succeeded', failure: 'Failed', cancelled: 'Canceled' }[status];
console.log(`Job ${answer.job} completed with result: ${conclusion}`);
