// Folds a run's events into what the reports need: the answer, the session, the usage, the errors.
import type { LaneEvent, Usage } from './lane-event.js';

export interface AgentOutcome {
  sessionId?: string;
  model?: string;
  answer: string;
  usage: Usage;
  errors: Array<{ message: string; status?: number }>;
  /** Set when the subscription's rate limit refused the run; epoch seconds, when the CLI said. */
  limited?: { resetsAt?: number };
  /** Whether the CLI's final result marked the run as failed. */
  reportedError: boolean;
  /** The CLI's own turn count when it reported one, else the responses the stream showed. */
  turns: number;
  /** The CLI stopped itself at a budget it was given. */
  stoppedAt?: 'turns' | 'costUsd';
}

export function foldEvents(events: Iterable<LaneEvent>): AgentOutcome {
  const outcome: AgentOutcome = {
    answer: '',
    usage: { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0 },
    errors: [],
    reportedError: false,
    turns: 0,
  };
  let finalText: string | undefined;
  let finalTurns: number | undefined;
  const responses = new Set<string>();
  // What claude says per response, for a run stopped before its final result (which sums them itself).
  const perResponse = new Map<string, Usage>();
  let sawFinalUsage = false;
  for (const e of events) {
    switch (e.kind) {
      case 'session':
        outcome.sessionId ??= e.id || undefined;
        outcome.model ??= e.model;
        break;
      case 'message':
        outcome.answer = e.text;
        break;
      case 'final':
        finalText = e.text;
        outcome.reportedError ||= e.isError;
        if (e.usage) {
          outcome.usage = e.usage;
          sawFinalUsage = true;
        }
        finalTurns = e.turns;
        outcome.stoppedAt ??= e.stoppedAt;
        break;
      case 'turn':
        responses.add(e.id);
        if (e.usage) perResponse.set(e.id, e.usage);
        break;
      case 'usage':
        outcome.usage = add(outcome.usage, e.usage);
        break;
      case 'error':
        // codex repeats a fatal error as `error` then `turn.failed`; one line is enough.
        if (outcome.errors.at(-1)?.message !== e.message) outcome.errors.push({ message: e.message, status: e.status });
        break;
      case 'limit':
        outcome.limited = { resetsAt: e.resetsAt };
        break;
      case 'progress':
        break;
    }
  }
  if (finalText !== undefined && finalText !== '') outcome.answer = finalText;
  if (!sawFinalUsage && perResponse.size) outcome.usage = [...perResponse.values()].reduce(add, outcome.usage);
  outcome.turns = finalTurns ?? responses.size;
  return outcome;
}

const add = (a: Usage, b: Usage): Usage => ({
  inputTokens: a.inputTokens + b.inputTokens,
  outputTokens: a.outputTokens + b.outputTokens,
  cachedInputTokens: a.cachedInputTokens + b.cachedInputTokens,
});
