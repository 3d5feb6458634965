// The subset of GitHub's expressions a reusable workflow's runs-on uses, evaluated as GitHub does; anything else is
// unknown rather than guessed.
import { describe, expect, it } from 'vitest';
import { evaluate, UNKNOWN, workflowValue } from '../../controller/commands/workflow-expression.js';

describe('workflow expressions', () => {
  it('&& and || return an operand, as GitHub does, and an empty string is false', () => {
    expect(evaluate("inputs.a != '' && inputs.a || 'fallback'", { a: '' })).toBe('fallback');
    expect(evaluate("inputs.a != '' && inputs.a || 'fallback'", { a: 'x' })).toBe('x');
  });

  it('compares strings ignoring case, and reads fromJSON', () => {
    expect(evaluate("inputs.mode == 'BUILD'", { mode: 'build' })).toBe(true);
    expect(evaluate(`fromJSON('["self-hosted","it''s"]')`, {})).toEqual(['self-hosted', "it's"]);
  });

  it('is unknown for another context, an unknown function, a broken text or an unknown inputs context', () => {
    expect(evaluate('matrix.os', {})).toBe(UNKNOWN);
    expect(evaluate("format('{0}', 'a')", {})).toBe(UNKNOWN);
    expect(evaluate("('a'", {})).toBe(UNKNOWN);
    expect(evaluate("inputs.a || 'x'", undefined)).toBe(UNKNOWN);
    expect(workflowValue('prefix-${{ inputs.a }}', { a: 'b' })).toBe(UNKNOWN);
    expect(workflowValue('plain', undefined)).toBe('plain');
  });
});
