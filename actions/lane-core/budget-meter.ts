// Watches a run's events as they arrive and says when the run reached a budget it must be stopped at. Pure: the lane
// run feeds it lines' events and stops the process tree itself. What a CLI enforces on its own (claude's --max-turns
// and --max-budget-usd) is left to the CLI, which then ends with its usage and cost; the meter covers the rest.
import type { Budget, BudgetBreach } from './lane-budget.js';
import type { LaneEvent, Usage } from './lane-event.js';

export interface MeterLimits {
  /** Turns the meter enforces (unset when the CLI enforces them itself). */
  turns?: number;
  tokens?: number;
}

export interface BudgetMeter {
  /** The breach this event brought, once; undefined otherwise and after the first. */
  observe(event: LaneEvent): BudgetBreach | undefined;
}

const tokensOf = (u: Usage) => u.inputTokens + u.outputTokens;

export function budgetMeter(limits: MeterLimits): BudgetMeter {
  const responses = new Set<string>();
  const perResponse = new Map<string, number>();
  let summed = 0; // codex's per-turn usage events
  let breached = false;
  const tokens = () => summed + [...perResponse.values()].reduce((a, b) => a + b, 0);
  const check = (event: LaneEvent): BudgetBreach | undefined => {
    if (event.kind === 'turn') {
      responses.add(event.id);
      if (event.usage) perResponse.set(event.id, tokensOf(event.usage));
      // A response at the cap that answered ends the run by itself; one that asked for a tool would start another.
      if (limits.turns !== undefined && responses.size >= limits.turns && event.more)
        return { name: 'turns', used: responses.size, limit: limits.turns };
    }
    if (event.kind === 'usage') summed += tokensOf(event.usage);
    if ((event.kind === 'turn' || event.kind === 'usage') && limits.tokens !== undefined && tokens() >= limits.tokens)
      return { name: 'tokens', used: tokens(), limit: limits.tokens };
    return undefined;
  };
  return {
    observe(event) {
      if (breached) return undefined;
      const breach = check(event);
      if (breach) breached = true;
      return breach;
    },
  };
}

/** What the meter enforces for an agent: claude takes its turn cap itself (--max-turns), so it ends with a result. */
export function meterLimits(agent: 'codex' | 'claude', budget: Budget): MeterLimits {
  return { turns: agent === 'codex' ? budget.turns : undefined, tokens: budget.tokens };
}
