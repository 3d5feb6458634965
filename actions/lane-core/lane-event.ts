// The agent-neutral events both CLIs' streams are translated into; everything downstream reads only these.

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  /** Known for claude (it prices its own runs); codex does not report cost. */
  costUsd?: number;
}

export type LaneEvent =
  | { kind: 'session'; id: string; model?: string }
  /** One human-readable log line: a tool call, a command, a retry. */
  | { kind: 'progress'; text: string }
  /** An assistant message; the last one is the answer unless a final result says otherwise. */
  | { kind: 'message'; text: string }
  | {
      kind: 'final';
      text: string;
      isError: boolean;
      usage?: Usage;
      /** The CLI's own count of turns (claude's num_turns). */
      turns?: number;
      /** The CLI stopped itself at a budget it was given (claude's --max-turns, --max-budget-usd). */
      stoppedAt?: 'turns' | 'costUsd';
    }
  /** One model response: `id` tells the parts of one response apart from the next; `more` when it asked for a tool
   * (another response follows); `usage` of that response when the CLI says it as it goes (claude does, codex not). */
  | { kind: 'turn'; id: string; more: boolean; usage?: Usage }
  /** Usage of one turn; turns add up. */
  | { kind: 'usage'; usage: Usage }
  | { kind: 'error'; message: string; status?: number }
  /** The subscription's rate limit refused the run; `resetsAt` in epoch seconds. */
  | { kind: 'limit'; resetsAt?: number };

/** Parses one line of a CLI's JSON event stream; lines that are not JSON objects yield nothing. */
export function jsonLine(line: string): Record<string, unknown> | undefined {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(trimmed);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export const firstLine = (text: string, max = 160) => {
  const line = text.trim().split('\n')[0] ?? '';
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
};

export type Json = Record<string, unknown>;
export const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
export const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
export const str = (v: unknown) => (typeof v === 'string' ? v : '');
