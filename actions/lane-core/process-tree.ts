// Finds every process a run started, even ones that left its process group. Agent CLIs start their shells in
// new sessions, and a `cmd &` in such a shell outlives the shell, reparented away from the CLI: neither the
// process group nor the parent chain reaches it. The environment does: each descendant inherits a marker
// variable (the cookie Jenkins' process-tree killer uses), and /proc/<pid>/environ shows it.
import { readdirSync, readFileSync } from 'node:fs';

export const RUN_MARKER = 'FACTORY_LANE_RUN';

/** Pids of /proc whose `file` (`environ`, `status`) passes `test`; empty where /proc is not there (macOS). */
export function processesWhere(file: 'environ' | 'status', test: (text: string) => boolean): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (test(readFileSync(`/proc/${entry}/${file}`, 'latin1'))) pids.push(Number(entry));
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return pids;
}

/** Pids whose environment carries `RUN_MARKER=<id>`. */
export function markedProcesses(id: string): number[] {
  const needle = `\0${RUN_MARKER}=${id}\0`;
  return processesWhere('environ', (environ) => `\0${environ}`.includes(needle));
}

/** Signals the process group of `leader` and every marked process. */
export function killRun(leader: number | undefined, id: string, signal: NodeJS.Signals): void {
  const targets = leader ? [-leader, ...markedProcesses(id)] : markedProcesses(id);
  for (const pid of targets) {
    try {
      process.kill(pid, signal);
    } catch {
      // Already exited.
    }
  }
}

/** killRun as a standalone script (`node -e`), for a tree that runs as another user: argv leader, id, signal. */
export const killRunScript = `
const { readdirSync, readFileSync } = require('node:fs');
const [leader, id, signal] = process.argv.slice(1);
const needle = '\\0${RUN_MARKER}=' + id + '\\0';
const targets = leader ? [-Number(leader)] : [];
for (const e of readdirSync('/proc')) {
  if (!/^\\d+$/.test(e) || Number(e) === process.pid) continue;
  try { if (('\\0' + readFileSync('/proc/' + e + '/environ', 'latin1')).includes(needle)) targets.push(Number(e)); } catch {}
}
for (const pid of targets) { try { process.kill(pid, signal); } catch {} }
`;
