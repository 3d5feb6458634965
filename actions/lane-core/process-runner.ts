// The child-process world behind one small interface: start a CLI, feed its prompt on stdin, hand its stdout to
// the caller line by line, and enforce the deadline on the whole process tree.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { agentHelperEnv, asAgent, killAgentUser, type AgentUser } from './agent-user.js';
import { killRun, killRunScript, RUN_MARKER } from './process-tree.js';
import { spawnSync } from 'node:child_process';

export interface ProcessSpec {
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  stdin: string;
  timeoutMs: number;
  onLine: (line: string) => void;
  onStderr?: (text: string) => void;
  /** Called once the process runs (not when it could not start). */
  onSpawn?: () => void;
  /** Runs the command as the lane's agent user; the tree is then signalled as that user too, and the run owns every
   * process of that user: when the command exits, all of them are killed, marked or not. */
  user?: AgentUser;
  /** Aborted when the run reached a budget: the tree is stopped as at the deadline. */
  stop?: AbortSignal;
}

export interface ProcessResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** The action itself got SIGTERM or SIGINT (the job was cancelled) and stopped the run. */
  cancelled: boolean;
  /** The caller's stop signal ended the run (a budget). */
  stopped: boolean;
  stderr: string;
  /** The CLI exited but its output stayed open past the grace period (held by a process outside its tree, whose
   * marker was dropped): the run stopped reading instead of waiting for that process. */
  outputHeldOpen: boolean;
}

export interface ProcessRunner {
  run(spec: ProcessSpec): Promise<ProcessResult>;
}

/** How long a tree gets between SIGTERM and SIGKILL: enough for a CLI to flush its session file. */
const KILL_GRACE_MS = 5_000;
const STDERR_KEEP = 16_384;
/** How long stdout may stay open after the CLI exited and its tree was killed: long enough to drain what is in the
 * pipe, short enough that a process that escaped the tree (and the kill) cannot hold the action. */
export const OUTPUT_GRACE_MS = 5_000;

export const nodeProcessRunner: ProcessRunner = {
  run(spec) {
    return new Promise((resolve, reject) => {
      // Its own process group plus an inherited marker, so a timeout reaches the CLI's shells, MCP servers and
      // whatever they left running in the background.
      const runId = randomUUID();
      const env = { ...spec.env, [RUN_MARKER]: runId };
      const { command, args } = spec.user ? asAgent(spec.user, spec.command, spec.args) : spec;
      const child = spawn(command, args, { cwd: spec.cwd, env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
      let stderr = '';
      let timedOut = false;
      let cancelled = false;
      let killTimer: NodeJS.Timeout | undefined;
      let drainTimer: NodeJS.Timeout | undefined;
      let outputHeldOpen = false;
      const killTree = (signal: NodeJS.Signals) =>
        spec.user ? killAsAgent(spec.user, child.pid, runId, signal) : killRun(child.pid, runId, signal);
      const stop = () => {
        killTree('SIGTERM');
        killTimer ??= setTimeout(() => killTree('SIGKILL'), KILL_GRACE_MS);
      };
      const deadline = setTimeout(() => {
        timedOut = true;
        stop();
      }, spec.timeoutMs);
      // A cancelled job signals the action, not the CLI's own process group: pass it on, then report as usual.
      const onCancel = () => {
        cancelled = true;
        stop();
      };
      process.once('SIGTERM', onCancel).once('SIGINT', onCancel);
      let stopped = false;
      const onStop = () => {
        stopped = true;
        stop();
      };
      if (spec.stop?.aborted) onStop();
      else spec.stop?.addEventListener('abort', onStop, { once: true });
      const settle = () => {
        spec.stop?.removeEventListener('abort', onStop);
        clearTimeout(deadline);
        if (killTimer) clearTimeout(killTimer);
        if (drainTimer) clearTimeout(drainTimer);
        process.off('SIGTERM', onCancel).off('SIGINT', onCancel);
      };

      const lines = createInterface({ input: child.stdout });
      lines.on('line', spec.onLine);
      child.stderr.on('data', (chunk: Buffer) => {
        const text = chunk.toString('utf8');
        spec.onStderr?.(text);
        stderr = (stderr + text).slice(-STDERR_KEEP);
      });
      child.stdin.on('error', () => undefined); // a CLI that exits before reading its prompt
      child.stdin.end(spec.stdin);

      if (spec.onSpawn) child.once('spawn', spec.onSpawn);
      child.on('error', (err) => {
        settle();
        reject(err);
      });
      // Leftovers of a CLI that exited on its own (a background shell holding stdout open) go with it; what they
      // already wrote stays readable in the pipe. As the agent's user, that is every process of the user: a daemon
      // that dropped the marker too.
      child.on('exit', () => {
        if (spec.user) killAgentUser(spec.user);
        else killTree('SIGKILL');
        drainTimer = setTimeout(() => {
          outputHeldOpen = true;
          child.stdout.destroy();
          child.stderr.destroy();
        }, OUTPUT_GRACE_MS);
      });
      // `close`, not `exit`: stdout is drained by then, so the last event line is not lost.
      child.on('close', (exitCode, signal) => {
        settle();
        resolve({ exitCode, signal, timedOut, cancelled, stopped, stderr, outputHeldOpen });
      });
    });
  },
};

/** Another user's processes are not ours to signal or to read the environment of: the agent user does both. */
export function killAsAgent(user: AgentUser, leader: number | undefined, runId: string, signal: NodeJS.Signals): void {
  const kill = asAgent(user, process.execPath, ['-e', killRunScript, String(leader ?? ''), runId, signal]);
  spawnSync(kill.command, kill.args, { stdio: 'ignore', timeout: 5_000, env: agentHelperEnv() });
}
