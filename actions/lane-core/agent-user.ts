// The agent runs as its own user, apart from the runner and this action. A process of the same user can read its
// parent's initial environment (/proc/PPID/environ: the action's token, ACTIONS_RUNTIME_TOKEN) and write the
// runner's command files under RUNNER_TEMP; dropping variables from the agent's environment cannot stop that, a
// different uid does. The lane image provides the user and a helper that switches to it (docs/lane-isolation.md).
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { JOB_FILE_LIMIT, type JobFile } from '../../lane-contract/job-file.js';
import { LANE_VARIABLES } from '../../lane-contract/lane-variables.js';
import { processesWhere } from './process-tree.js';

export interface AgentUser {
  /** The switching helper (setpriv with cap_setuid,cap_setgid). */
  exec: string;
  uid: number;
  gid: number;
}

/** Whatever runs as the agent starts with this environment only: the action's own holds its tokens, and the agent
 * can read the environment of every process of its user. */
export const agentHelperEnv = () => ({ PATH: process.env.PATH || '/usr/local/bin:/usr/bin:/bin' });

export type Separation = { user: AgentUser } | { problem: string };

/** The argv that runs `command` as the agent: no supplementary groups, no inheritable capabilities, no way to gain
 * privileges again, and a umask that leaves what it writes in the shared workspace writable by the runner's group. */
export function asAgent(user: AgentUser, command: string, args: string[]): { command: string; args: string[] } {
  const drop = [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--inh-caps=-all', '--no-new-privs'];
  return {
    command: user.exec,
    args: [...drop, '--', '/bin/sh', '-c', 'umask 002 && exec "$0" "$@"', command, ...args],
  };
}

function parseUser(env: Record<string, string | undefined>): AgentUser | string {
  const spec = env[LANE_VARIABLES.agentUser]?.trim();
  const exec = env[LANE_VARIABLES.agentExec]?.trim();
  if (!spec || !exec)
    return `${LANE_VARIABLES.agentUser} and ${LANE_VARIABLES.agentExec} are not set: this lane's image and profile provide no agent user`;
  const m = /^(\d+):(\d+)$/.exec(spec);
  if (!m) return `${LANE_VARIABLES.agentUser} must be uid:gid, got ${JSON.stringify(spec)}`;
  const [uid, gid] = [Number(m[1]), Number(m[2])];
  if (uid === 0) return `${LANE_VARIABLES.agentUser} must not be root`;
  if (uid === process.getuid?.())
    return `${LANE_VARIABLES.agentUser} is uid ${uid}, the same user as the runner and this action`;
  return { exec, uid, gid };
}

/** What the agent must not reach, checked from the agent's side: a lane set up wrongly is refused, not trusted. */
const PROBE = [
  'want=$1 pid=$2; shift 2',
  '[ "$(id -u)" = "$want" ] || { echo "the helper ran it as uid $(id -u), not $want"; exit 1; }',
  'if cat "/proc/$pid/environ" >/dev/null 2>&1; then echo "the agent can read the action\'s /proc/$pid/environ"; exit 1; fi',
  'listing=1',
  'for p in "$@"; do',
  '  if [ "$p" = --read ]; then listing=0; continue; fi',
  '  if [ "$listing" = 1 ] && ls -- "$p" >/dev/null 2>&1; then echo "the agent can list $p"; exit 1; fi',
  '  if [ "$listing" = 0 ] && head -c 1 -- "$p" >/dev/null 2>&1; then echo "the agent can read $p"; exit 1; fi',
  'done',
  'echo separated',
].join('\n');

/**
 * Reads the lane's agent user from the environment and proves the separation holds: the agent can list none of the
 * `guarded` folders and read none of the `unreadable` files.
 */
export function checkSeparation(
  env: Record<string, string | undefined>,
  guarded: string[],
  unreadable: string[] = [],
): Separation {
  const user = parseUser(env);
  if (typeof user === 'string') return { problem: user };
  const paths = [...guarded, '--read', ...unreadable];
  const probe = asAgent(user, '/bin/sh', ['-c', PROBE, 'probe', String(user.uid), String(process.pid), ...paths]);
  const r = spawnSync(probe.command, probe.args, {
    encoding: 'utf8',
    timeout: 10_000,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: agentHelperEnv(),
  });
  if (r.error)
    return { problem: `${user.exec} could not run (${(r.error as NodeJS.ErrnoException).code ?? r.error.message})` };
  // Only the probe's own last word counts: a helper that exits 0 without running it proves nothing.
  if (r.status !== 0 || r.stdout.trim() !== 'separated') {
    return {
      problem: (r.stdout.trim() || r.stderr.trim() || `${user.exec} ran nothing as the agent (exit ${r.status})`).split(
        '\n',
      )[0]!,
    };
  }
  return { user };
}

/** Reads a file the agent owns, as the agent: lstat first (a regular file under the cap), then `head -c` under a
 * deadline, so a swap for a FIFO or a symlink yields nothing the agent could not read itself, and never hangs. */
export function agentFileReader(user: AgentUser, limit = JOB_FILE_LIMIT) {
  return async (path: string): Promise<JobFile> => {
    const s = await lstat(path).catch(() => undefined);
    if (!s) return { kind: 'missing' };
    if (!s.isFile()) return { kind: 'unsafe', reason: `${path} is not a regular file` };
    if (s.size > limit) return { kind: 'unsafe', reason: `${path} is ${s.size} bytes, over the ${limit}-byte limit` };
    const read = asAgent(user, 'head', ['-c', String(limit + 1), '--', path]);
    return new Promise((resolve) => {
      const child = spawn(read.command, read.args, {
        stdio: ['ignore', 'pipe', 'ignore'],
        timeout: 5_000,
        killSignal: 'SIGKILL',
        env: agentHelperEnv(),
      });
      const chunks: Buffer[] = [];
      child.stdout.on('data', (c: Buffer) => chunks.push(c));
      child.on('error', (err) =>
        resolve({ kind: 'unsafe', reason: `${path} could not be read as the agent (${err.message})` }),
      );
      child.on('close', (code) => {
        const text = Buffer.concat(chunks);
        if (code !== 0) resolve({ kind: 'unsafe', reason: `${path} could not be read as the agent (exit ${code})` });
        else if (text.length > limit)
          resolve({ kind: 'unsafe', reason: `${path} grew over the ${limit}-byte limit while read` });
        else resolve({ kind: 'text', text: text.toString('utf8') });
      });
    });
  };
}

/** Runs a command as the agent and waits, bounded: cleanup of what the agent owns. */
export function runAsAgent(user: AgentUser, command: string, args: string[], timeoutMs = 10_000): void {
  const c = asAgent(user, command, args);
  spawnSync(c.command, c.args, { stdio: 'ignore', timeout: timeoutMs, env: agentHelperEnv() });
}

/**
 * Kills every process of the agent's user (`kill -1` as that user: all it may signal), then waits until none is
 * left. The run's marker (process-tree.ts) is only an environment variable, which a daemon that double-forks,
 * calls setsid and execs with a clean environment drops; its uid it cannot drop. A lane container runs nothing
 * else as the agent's user, and jobs never share a container.
 */
export async function endAgentProcesses(user: AgentUser, waitMs = 5_000): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    killAgentUser(user);
    // SIGKILL lands when the target next leaves the kernel: one inside a long system call is still listed.
    const left = processesOf(user.uid);
    if (!left.length) return;
    if (Date.now() > deadline)
      throw new Error(`processes of the agent user (uid ${user.uid}) survive SIGKILL: ${left.join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** `kill -1` as the agent: SIGKILL to every process of its user, without waiting for them to go. */
export function killAgentUser(user: AgentUser): void {
  runAsAgent(user, '/bin/sh', ['-c', 'kill -9 -1'], 5_000);
}

/** Live (not zombie) processes whose real or saved uid is `uid`: the ones a process of that user may signal. */
export function processesOf(uid: number): number[] {
  return processesWhere('status', (status) => {
    const uids = /^Uid:\s+(\d+)\s+\d+\s+(\d+)/m.exec(status);
    return !/^State:\s+Z/m.test(status) && uids !== null && (Number(uids[1]) === uid || Number(uids[2]) === uid);
  });
}

/** The runner's private places: RUNNER_TEMP (its command files, this action's run folder) and `_actions` (the code
 * of every action in the job). Both belong to the runner's user; closing them to everyone else keeps the agent out. */
export function runnerPrivatePaths(
  env: Record<string, string | undefined>,
  actionScript: string | undefined,
): string[] {
  const paths = env.RUNNER_TEMP ? [env.RUNNER_TEMP] : [];
  const parts = (actionScript ?? '').split(sep);
  const at = parts.lastIndexOf('_actions');
  if (at > 0) paths.push(parts.slice(0, at + 1).join(sep));
  return paths;
}

/**
 * The runner's own folder, the parent of its `_work` (the official image's /home/runner). The runner writes its
 * registration there under umask 022, readable by every user: `.runner`, `.credentials`, `.credentials_rsaparams` (the
 * RSA key it signs its requests to GitHub with), `.env`, `.path`, and its logs in `_diag`.
 */
export function runnerHome(env: Record<string, string | undefined>, actionScript: string | undefined) {
  for (const path of [env.RUNNER_TEMP, actionScript]) {
    const parts = (path ?? '').split(sep);
    const at = parts.lastIndexOf('_work');
    if (at > 0) return parts.slice(0, at).join(sep) || sep;
  }
  return undefined;
}

/** The runner's files in its home: its dotfiles (registration, key, env) and its logs. Symlinks are left alone. */
function runnerFiles(home: string): string[] {
  let names: string[];
  try {
    names = readdirSync(home);
  } catch {
    return [];
  }
  return names
    .filter((name) => {
      const s = lstatSync(join(home, name), { throwIfNoEntry: false });
      return (name.startsWith('.') && s?.isFile()) || (name === '_diag' && s?.isDirectory());
    })
    .map((name) => join(home, name));
}

/**
 * Closes the runner's private places and checks the separation from the agent's side (see checkSeparation). The
 * runner's home stays passable (0711), so the agent still reaches the workspace under `_work`, but it can no longer
 * list it nor read the runner's own files in it.
 */
export function separateAgent(env: Record<string, string | undefined>, actionScript: string | undefined): Separation {
  const guarded = runnerPrivatePaths(env, actionScript);
  const home = runnerHome(env, actionScript);
  const files = home ? runnerFiles(home) : [];
  if (typeof parseUser(env) !== 'string') {
    for (const path of guarded) chmodQuietly(path, 0o700);
    if (home) chmodQuietly(home, 0o711);
    for (const path of files) chmodQuietly(path, lstatSync(path).mode & 0o700);
  }
  return checkSeparation(env, home ? [...guarded, home] : guarded, files);
}

function chmodQuietly(path: string, mode: number): void {
  try {
    chmodSync(path, mode);
  } catch {
    // Not ours to close: the probe then says the agent can list or read it.
  }
}
