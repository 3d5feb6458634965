import { describe, expect, it } from 'vitest';
import { budgetMeter, meterLimits } from '../../actions/lane-core/budget-meter.js';
import { partialMarker, profileBudget, resolveBudget } from '../../actions/lane-core/lane-budget.js';
import type { LaneEvent } from '../../actions/lane-core/lane-event.js';

const turn = (id: string, more: boolean, tokens?: number): LaneEvent => ({
  kind: 'turn',
  id,
  more,
  usage: tokens === undefined ? undefined : { inputTokens: tokens, outputTokens: 0, cachedInputTokens: 0 },
});

describe('lane budget', () => {
  it('reads the profile budget the controller put in the environment', () => {
    expect(
      profileBudget({ FACTORY_BUDGET_MINUTES: '20', FACTORY_BUDGET_TURNS: '40', FACTORY_BUDGET_COST_USD: '1.5' }),
    ).toEqual({ wallClockMinutes: 20, turns: 40, costUsd: 1.5 });
    expect(() => profileBudget({ FACTORY_BUDGET_TOKENS: 'lots' })).toThrow(
      'FACTORY_BUDGET_TOKENS: expected a positive number, got "lots"',
    );
  });

  it('an input lowers the profile budget, and the rest come from the profile', () => {
    expect(resolveBudget({ wallClockMinutes: 20, turns: 40 }, { turns: 10 })).toEqual({
      wallClockMinutes: 20,
      turns: 10,
    });
  });

  it('an input can never raise the profile budget, and the error says so naming both', () => {
    expect(() => resolveBudget({ turns: 40, costUsd: 1 }, { turns: 41, costUsd: 2 })).toThrow(
      'input "max-turns" 41 is above the lane profile\'s turns budget of 40; an input can only lower a profile\'s budget, never raise it\n' +
        'input "max-cost-usd" 2 is above the lane profile\'s cost budget of 1; an input can only lower a profile\'s budget, never raise it',
    );
  });

  it('without a profile budget or inputs the wall clock is 30 minutes and nothing else is bounded', () => {
    expect(resolveBudget({}, {})).toEqual({ wallClockMinutes: 30 });
  });

  it('marks a stopped run as partial, naming the budget with what it used', () => {
    expect(partialMarker({ name: 'turns', used: 30, limit: 30 })).toBe('partial — stopped at budget: turns 30/30');
    expect(partialMarker({ name: 'costUsd', used: 0.5012, limit: 0.5 })).toBe(
      'partial — stopped at budget: cost $0.50/$0.50',
    );
  });
});

describe('budget meter', () => {
  it('stops at the turn cap only when the response at the cap asked for more', () => {
    const meter = budgetMeter({ turns: 2 });
    expect(meter.observe(turn('a', true))).toBeUndefined();
    expect(meter.observe(turn('a', true))).toBeUndefined(); // a second block of the same response
    expect(meter.observe(turn('b', true))).toEqual({ name: 'turns', used: 2, limit: 2 });
    expect(meter.observe(turn('c', true))).toBeUndefined(); // once
  });

  it('a final answer at the turn cap is not stopped', () => {
    const meter = budgetMeter({ turns: 1 });
    expect(meter.observe(turn('a', false))).toBeUndefined();
  });

  it('counts a response once, with the latest usage it reported, toward the token budget', () => {
    const meter = budgetMeter({ tokens: 100 });
    expect(meter.observe(turn('a', true, 40))).toBeUndefined();
    expect(meter.observe(turn('a', true, 45))).toBeUndefined();
    expect(meter.observe(turn('b', true, 55))).toEqual({ name: 'tokens', used: 100, limit: 100 });
  });

  it("adds codex's per-turn usage toward the token budget", () => {
    const meter = budgetMeter({ tokens: 50 });
    const usage: LaneEvent = { kind: 'usage', usage: { inputTokens: 40, outputTokens: 12, cachedInputTokens: 0 } };
    expect(meter.observe(usage)).toEqual({ name: 'tokens', used: 52, limit: 50 });
  });

  it('leaves claude its own turn cap and enforces codex turns itself', () => {
    expect(meterLimits('claude', { wallClockMinutes: 5, turns: 3, tokens: 9 })).toEqual({
      turns: undefined,
      tokens: 9,
    });
    expect(meterLimits('codex', { wallClockMinutes: 5, turns: 3 })).toEqual({ turns: 3, tokens: undefined });
  });
});
