import { describe, expect, it } from 'vitest';
import { profileSchema } from '../../controller/config/config-schema.js';
import { budgetVariables } from '../../controller/lanes/lane-layout.js';
import { profileBudget } from '../../actions/lane-core/lane-budget.js';

describe('a lane profile budget', () => {
  it('reaches the action as the variables it reads, with the same values', () => {
    const profile = profileSchema.parse({
      labels: ['claude-lane'],
      image: 'factory/base',
      budget: { wallClock: '20m', turns: 40, tokens: 2_000_000, costUsd: 5 },
    });
    const env = budgetVariables(profile.budget);
    expect(env).toEqual({
      FACTORY_BUDGET_MINUTES: '20',
      FACTORY_BUDGET_TURNS: '40',
      FACTORY_BUDGET_TOKENS: '2000000',
      FACTORY_BUDGET_COST_USD: '5',
    });
    expect(profileBudget(env)).toEqual({ wallClockMinutes: 20, turns: 40, tokens: 2_000_000, costUsd: 5 });
  });

  it('a profile without a budget sets none of them', () => {
    expect(budgetVariables(undefined)).toEqual({});
  });

  it('refuses a turn budget that is not a positive whole number', () => {
    expect(() => profileSchema.parse({ labels: ['l'], image: 'i', budget: { turns: 2.5 } })).toThrow();
  });
});
