// A run's usage in the shapes it leaves the action in: the `usage` output's JSON and one log line.
import { breachText } from './lane-budget.js';
import type { LaneResult } from './lane-run.js';

export function usageJson(r: Pick<LaneResult, 'usage' | 'breach'>) {
  return {
    input_tokens: r.usage.inputTokens,
    output_tokens: r.usage.outputTokens,
    cached_input_tokens: r.usage.cachedInputTokens,
    /** claude prices its runs; codex does not, so null there. */
    cost_usd: r.usage.costUsd ?? null,
    turns: r.usage.turns,
    duration_ms: r.usage.durationMs,
    stopped_at: r.breach ? breachText(r.breach) : null,
  };
}

export function usageText(r: Pick<LaneResult, 'usage' | 'breach'>): string {
  const u = r.usage;
  return [
    `${u.inputTokens} in / ${u.outputTokens} out (${u.cachedInputTokens} cached)`,
    u.costUsd === undefined ? 'cost n/a' : `$${u.costUsd.toFixed(4)}`,
    `${u.turns} turns`,
    `${Math.round(u.durationMs / 1000)}s`,
    ...(r.breach ? [`stopped at ${breachText(r.breach)}`] : []),
  ].join(', ');
}
