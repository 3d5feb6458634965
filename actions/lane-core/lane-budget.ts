// A lane run's budget: wall clock, turns, tokens and cost. The lane profile sets the ceiling (the controller puts it in
// the job's environment, lane-contract/lane-variables.ts); the action's inputs may only lower it. An input above the
// profile's limit is refused, not clipped, so a workflow never believes it bought more than the operator allows.
import { LANE_VARIABLES as V } from '../../lane-contract/lane-variables.js';

export interface Budget {
  /** Always set: the deadline the process runner enforces. */
  wallClockMinutes: number;
  turns?: number;
  /** Input plus output tokens, as the usage output counts them. */
  tokens?: number;
  costUsd?: number;
}

export type BudgetName = keyof Budget;

/** What each budget is called in inputs, errors and reports. */
export const BUDGET_WORDS: Record<BudgetName, { input: string; profile: string; spoken: string }> = {
  wallClockMinutes: { input: 'timeout-minutes', profile: V.budgetMinutes, spoken: 'wall clock' },
  turns: { input: 'max-turns', profile: V.budgetTurns, spoken: 'turns' },
  tokens: { input: 'max-tokens', profile: V.budgetTokens, spoken: 'tokens' },
  costUsd: { input: 'max-cost-usd', profile: V.budgetCostUsd, spoken: 'cost' },
};

export const DEFAULT_WALL_CLOCK_MINUTES = 30;
const NAMES = Object.keys(BUDGET_WORDS) as BudgetName[];

/** The profile's budget from the job's environment; a malformed value is the controller's bug, named. */
export function profileBudget(env: Record<string, string | undefined>): Partial<Budget> {
  const out: Partial<Budget> = {};
  for (const name of NAMES) {
    const text = env[BUDGET_WORDS[name].profile]?.trim();
    if (!text) continue;
    const n = Number(text);
    if (!Number.isFinite(n) || n <= 0)
      throw new Error(`${BUDGET_WORDS[name].profile}: expected a positive number, got ${JSON.stringify(text)}`);
    out[name] = n;
  }
  return out;
}

/**
 * The run's budget: each input lowers the profile's limit, and one that would raise it is refused naming both. Without
 * either, wall clock is 30 minutes and the rest unlimited.
 */
export function resolveBudget(profile: Partial<Budget>, inputs: Partial<Budget>): Budget {
  const problems: string[] = [];
  const out: Partial<Budget> = {};
  for (const name of NAMES) {
    const ceiling = profile[name];
    const asked = inputs[name];
    if (asked !== undefined && ceiling !== undefined && asked > ceiling)
      problems.push(
        `input "${BUDGET_WORDS[name].input}" ${asked} is above the lane profile's ${BUDGET_WORDS[name].spoken} budget of ${ceiling}; an input can only lower a profile's budget, never raise it`,
      );
    const value = asked ?? ceiling;
    if (value !== undefined) out[name] = value;
  }
  if (problems.length) throw new Error(problems.join('\n'));
  return { ...out, wallClockMinutes: out.wallClockMinutes ?? DEFAULT_WALL_CLOCK_MINUTES };
}

/** The budget a run ran into, with what it used against the limit: `turns 30/30`. */
export interface BudgetBreach {
  name: BudgetName;
  used: number;
  limit: number;
}

export function breachText(b: BudgetBreach): string {
  const fmt = (n: number) =>
    b.name === 'costUsd' ? `$${n.toFixed(2)}` : b.name === 'wallClockMinutes' ? `${round(n)}m` : String(n);
  return `${BUDGET_WORDS[b.name].spoken} ${fmt(b.used)}/${fmt(b.limit)}`;
}

const round = (n: number) => Math.round(n * 100) / 100;

/** The line every report of a stopped run leads with. */
export const partialMarker = (b: BudgetBreach) => `partial — stopped at budget: ${breachText(b)}`;
