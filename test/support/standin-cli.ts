// A stand-in for the claude or codex CLI, for runs that time the action rather than the model: it answers every
// call the action makes as the real CLI does (`--version` at once; a run reads its prompt from stdin to the end and
// prints a finished event stream), and logs each call with the moment it started (nanoseconds since the epoch).
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type StandinAgent = 'claude' | 'codex';

const ANSWERS: Record<StandinAgent, string> = {
  claude:
    '{"type":"result","subtype":"success","is_error":false,"result":"ok","session_id":"standin","usage":{"input_tokens":1,"output_tokens":1}}',
  codex:
    '{"type":"thread.started","thread_id":"standin"}\n{"type":"item.completed","item":{"id":"1","type":"agent_message","text":"ok"}}\n{"type":"turn.completed","usage":{"input_tokens":1,"cached_input_tokens":0,"output_tokens":1}}',
};

/** What each real CLI prints for `--version`, around the version given. */
const VERSION_LINE: Record<StandinAgent, (v: string) => string> = {
  claude: (v) => `${v} (Claude Code)`,
  codex: (v) => `codex-cli ${v}`,
};

export interface StandinOptions {
  /** Where each call appends `<version|run> <ns>`. */
  log: string;
  version: string;
  /** Crueller than the real CLIs: every call, `--version` included, reads stdin to its end first. */
  readsStdinAlways?: boolean;
  /** `--version` never answers (a wedged install). */
  versionHangs?: boolean;
  /**
   * `--version` waits up to 5 s for a run's line in the log before logging its own. Two shells spawned a moment apart
   * reach their first line in either order on a busy machine: this way the log says which one the action started
   * first, not which one the scheduler ran first (an action that awaited --version before the run still logs
   * "version" first).
   */
  versionAwaitsRun?: boolean;
}

export function writeStandinCli(bin: string, agent: StandinAgent, o: StandinOptions): string {
  const path = join(bin, agent);
  const version = o.versionHangs ? 'exec sleep 600' : `echo '${VERSION_LINE[agent](o.version)}'`;
  const script = [
    '#!/bin/sh',
    'if [ "$1" = --version ]; then',
    ...(o.versionAwaitsRun
      ? [`  i=0; while ! grep -q '^run ' '${o.log}' 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done`]
      : []),
    `  echo "version $(date +%s%N)" >> '${o.log}'`,
    ...(o.readsStdinAlways ? ['  cat > /dev/null'] : []),
    `  ${version}`,
    '  exit 0',
    'fi',
    `echo "run $(date +%s%N)" >> '${o.log}'`,
    'cat > /dev/null',
    `printf '%s\\n' '${ANSWERS[agent]}'`,
    '',
  ].join('\n');
  writeFileSync(path, script);
  chmodSync(path, 0o755);
  return path;
}

export interface StandinCall {
  kind: 'version' | 'run';
  /** Milliseconds since the epoch, fractional. */
  atMs: number;
}

export function standinCalls(log: string): StandinCall[] {
  let text = '';
  try {
    text = readFileSync(log, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [kind, ns] = line.split(' ');
      return { kind: kind as StandinCall['kind'], atMs: Number(ns) / 1e6 };
    });
}
