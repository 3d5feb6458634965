// The version of the CLI a lane runs, for the `cli-version` output and the summary: which release answered
// matters when a run is compared with another or a CLI regression is suspected.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Agent } from './lane-settings.js';

const run = promisify(execFile);

/** `2.1.197 (Claude Code)` and `codex-cli 0.169.0` both become the bare version. */
export function parseCliVersion(output: string): string | undefined {
  return /\b(\d+\.\d+\.\d+(?:[-+][\w.]+)?)\b/.exec(output)?.[1];
}

/** Empty when the CLI cannot say (not on PATH, or an unexpected answer): the run reports its own error for that. */
export async function cliVersion(agent: Agent, env: Record<string, string | undefined>): Promise<string> {
  try {
    const { stdout } = await run(agent, ['--version'], { env: { PATH: env.PATH, HOME: env.HOME }, timeout: 30_000 });
    return parseCliVersion(stdout) ?? '';
  } catch {
    return '';
  }
}
