import { describe, expect, it } from 'vitest';
import { splitArguments } from '../../actions/lane-core/argument-list.js';
import { parseLaneSettings, type RawInputs } from '../../actions/lane-core/lane-settings.js';

const onPr = { workspace: '/w', isPullRequest: true };
const parse = (raw: RawInputs, context = onPr) => parseLaneSettings(raw, context);

describe('lane settings', () => {
  it('fills the documented defaults', () => {
    expect(parse({ agent: 'codex', prompt: 'Review.' })).toEqual({
      agent: 'codex',
      prompt: { text: 'Review.' },
      mode: 'review',
      model: undefined,
      effort: undefined,
      budget: {},
      mcpConfig: undefined,
      allowedTools: [],
      workingDirectory: '/w',
      extraArgs: [],
      githubToken: undefined,
      agentGithubToken: false,
      report: ['summary', 'comment', 'check'],
      outputSchema: undefined,
    });
  });

  it('takes the budget inputs as numbers, leaving out the ones not given', () => {
    expect(
      parse({ agent: 'claude', prompt: 'x', 'timeout-minutes': '12', 'max-turns': '30', 'max-cost-usd': '0.5' }).budget,
    ).toEqual({ wallClockMinutes: 12, turns: 30, costUsd: 0.5 });
  });

  it('refuses a budget input that is not a positive number, naming it', () => {
    expect(() => parse({ agent: 'claude', prompt: 'x', 'max-turns': '2.5', 'max-tokens': '-1' })).toThrow(
      /input "max-turns" must be a positive whole number of turns, got "2.5"\ninput "max-tokens" must be a positive whole number of tokens, got "-1"/,
    );
  });

  it('resolves a relative working-directory against the workspace', () => {
    expect(parse({ agent: 'codex', prompt: 'x', 'working-directory': 'packages/api' }).workingDirectory).toBe(
      '/w/packages/api',
    );
    expect(parse({ agent: 'codex', prompt: 'x', 'working-directory': '/elsewhere' }).workingDirectory).toBe(
      '/elsewhere',
    );
  });

  it('reports only to the summary outside pull requests', () => {
    expect(parse({ agent: 'claude', prompt: 'x' }, { workspace: '/w', isPullRequest: false }).report).toEqual([
      'summary',
    ]);
  });

  it('names the agent input when it is not codex or claude', () => {
    expect(() => parse({ agent: 'gemini', prompt: 'x' })).toThrow(
      'input "agent" must be codex or claude, got "gemini"',
    );
  });

  it('asks for exactly one of prompt and prompt-file', () => {
    expect(() => parse({ agent: 'codex' })).toThrow('input "prompt" give exactly one of prompt or prompt-file');
    expect(() => parse({ agent: 'codex', prompt: 'a', 'prompt-file': 'b' })).toThrow(
      /exactly one of prompt or prompt-file/,
    );
  });

  it('names timeout-minutes when it is not a positive number', () => {
    expect(() => parse({ agent: 'codex', prompt: 'x', 'timeout-minutes': 'soon' })).toThrow(
      'input "timeout-minutes" must be a number of minutes',
    );
    expect(() => parse({ agent: 'codex', prompt: 'x', 'timeout-minutes': '0' })).toThrow(/timeout-minutes/);
  });

  it('names an unknown report target', () => {
    expect(() => parse({ agent: 'codex', prompt: 'x', report: 'summary,slack' })).toThrow(
      'input "report" must be a comma list of summary, comment, check; unknown "slack"',
    );
  });

  it('lists every bad input at once', () => {
    expect(() => parse({ agent: 'x', prompt: 'p', mode: 'yolo', effort: 'max' })).toThrow(
      /"agent"[\s\S]*"mode" must be review or build[\s\S]*"effort"/,
    );
  });

  it('reads allowed-tools as a comma or newline list and the agent token switch as a boolean', () => {
    const s = parse({
      agent: 'claude',
      prompt: 'x',
      'allowed-tools': 'Bash(npm test), Read\nEdit',
      'agent-github-token': 'true',
    });
    expect(s.allowedTools).toEqual(['Bash(npm test)', 'Read', 'Edit']);
    expect(s.agentGithubToken).toBe(true);
    expect(() => parse({ agent: 'claude', prompt: 'x', 'agent-github-token': 'yes' })).toThrow(
      'input "agent-github-token" must be true or false',
    );
  });
});

describe('extra-args', () => {
  it('splits on spaces and keeps quoted runs together', () => {
    expect(splitArguments(`--flag "two words" -c 'model="o3"' --x="a b"`)).toEqual([
      '--flag',
      'two words',
      '-c',
      'model="o3"',
      '--x=a b',
    ]);
  });

  it('passes shell syntax through as plain text', () => {
    expect(splitArguments('$(rm -rf /) ; `id`')).toEqual(['$(rm', '-rf', '/)', ';', '`id`']);
  });

  it('rejects an unbalanced quote', () => {
    expect(() => splitArguments('--flag "open')).toThrow(/unbalanced quote/);
  });
});
