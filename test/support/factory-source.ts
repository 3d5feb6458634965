// A `factory` command as its own process, run from the sources: tsx as a loader in the one node process. The tsx CLI
// would sit in between, and it SIGKILLs a child that does not confirm a relayed SIGTERM within 30 ms, which a loaded
// machine misses (exit 143 instead of a clean stop).
import { spawn, type ChildProcessByStdio, type SpawnOptions } from 'node:child_process';
import type { Readable } from 'node:stream';

const MAIN =
  "import('./controller/commands/cli.ts').then(async (m) => { process.exitCode = await m.main(process.argv.slice(1)); })";

/** stdout is always a pipe; stderr a pipe unless `stderr: 'inherit'` (then `child.stderr` is null). */
export function spawnFactory(
  args: readonly string[],
  options: Omit<SpawnOptions, 'stdio'> & { stderr?: 'pipe' | 'inherit' },
): ChildProcessByStdio<null, Readable, Readable> {
  const { stderr = 'pipe', ...rest } = options;
  return spawn(process.execPath, ['--import', 'tsx', '-e', MAIN, ...args], {
    ...rest,
    stdio: ['ignore', 'pipe', stderr],
  }) as ChildProcessByStdio<null, Readable, Readable>;
}
