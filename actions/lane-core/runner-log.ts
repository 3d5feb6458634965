// The runner commands a lane writes while it starts and runs its agent: inputs, masks, log lines and warnings, in
// the exact form @actions/core writes them. The library itself loads an HTTP client (for OIDC tokens this action
// never asks for) that costs more start-up than everything else before the agent's spawn; it is loaded once the
// agent runs, for the outputs and the summary.
import { EOL } from 'node:os';

/** As @actions/core escapes a command's message: `%`, CR and LF would end or forge the command. */
export function escapeCommandData(value: string): string {
  return value.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

export interface RunnerLog {
  getInput(name: string): string;
  setSecret(value: string): void;
  info(line: string): void;
  warning(line: string): void;
}

export function runnerLog(
  env: Record<string, string | undefined> = process.env,
  write: (text: string) => void = (text) => void process.stdout.write(text),
): RunnerLog {
  return {
    getInput: (name) => (env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] || '').trim(),
    setSecret: (value) => write(`::add-mask::${escapeCommandData(value)}${EOL}`),
    info: (line) => write(`${line}${EOL}`),
    warning: (line) => write(`::warning::${escapeCommandData(line)}${EOL}`),
  };
}
