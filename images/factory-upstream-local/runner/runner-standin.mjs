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
  for (const file of ['index.js', 'package.json']) {
    const res = await fetch(`${new URL(url).origin}/_standin/actions/${message.action}/${file}`);
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

let result = { exitCode: 0, outputs: {} };
// The runner's job-started hook runs before any step, and a failing hook fails the job with no step run.
const hook = process.env.ACTIONS_RUNNER_HOOK_JOB_STARTED;
if (hook && spawnSync('sh', [hook], { stdio: 'inherit' }).status !== 0) {
  console.error('##[error]The job started hook failed');
  result = { exitCode: 1, outputs: {} };
} else if (answer.message) {
  result = await runAction(answer.message).catch((err) => {
    console.error(`##[error]${err.message}`);
    return { exitCode: 1, outputs: {} };
  });
} else {
  if (process.env.STANDIN_JOB_COMMAND) spawnSync('sh', ['-c', process.env.STANDIN_JOB_COMMAND], { stdio: 'inherit' });
  await sleep(1000 * (answer.seconds ?? 1));
}
await post('done', result).catch(() => undefined);
console.log(`Job ${answer.job} completed with result: ${result.exitCode === 0 ? 'Succeeded' : 'Failed'}`);
