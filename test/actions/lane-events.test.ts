// The parsers against event streams recorded from the real CLIs (test/support/record-cli-streams.ts).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { foldEvents } from '../../actions/lane-core/agent-outcome.js';
import { parseClaudeLine } from '../../actions/lane-core/claude-events.js';
import { classifyFailure } from '../../actions/lane-core/cli-failure.js';
import { parseCodexLine } from '../../actions/lane-core/codex-events.js';
import type { LaneEvent } from '../../actions/lane-core/lane-event.js';

function recorded(name: string): LaneEvent[] {
  const parse = name.startsWith('codex') ? parseCodexLine : parseClaudeLine;
  return readFileSync(`test/fixtures/lane-streams/${name}.jsonl`, 'utf8').split('\n').flatMap(parse);
}
const exited = (exitCode: number) => ({ exitCode, timedOut: false, stderrTail: '' });

describe('claude stream-json', () => {
  it('yields the session, the tool call, the answer and the priced usage', () => {
    const events = recorded('claude-success');
    const outcome = foldEvents(events);

    expect(outcome.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(outcome.answer).toBe('Reviewed the change: no blocking findings.');
    expect(outcome.usage).toMatchObject({ inputTokens: 60, outputTokens: 14 });
    expect(outcome.usage.costUsd).toBeGreaterThan(0);
    expect(events).toContainEqual({ kind: 'progress', text: 'tool Bash: echo lane-probe' });
    expect(classifyFailure('claude', outcome, exited(0), 30)).toBeUndefined();
  });

  it('takes a structured answer from the result', () => {
    expect(JSON.parse(foldEvents(recorded('claude-structured')).answer)).toEqual({ conclusion: 'success' });
  });

  it('reads a usage limit with its reset time', () => {
    const outcome = foldEvents(recorded('claude-usage-limit'));
    expect(classifyFailure('claude', outcome, exited(1), 30)).toEqual({
      kind: 'usage-limit',
      message: 'claude usage limit reached, resets at 2100-01-01T00:00:00.000Z',
    });
  });

  it('reads an expired login as an auth failure to fix on the host', () => {
    const failure = classifyFailure('claude', foldEvents(recorded('claude-auth-error')), exited(1), 30);
    expect(failure?.kind).toBe('auth');
    expect(failure?.message).toMatch(/^claude login expired: refresh on the host/);
  });
});

describe('codex exec --json', () => {
  it('yields the thread, the command, the answer and summed usage', () => {
    const events = recorded('codex-success');
    const outcome = foldEvents(events);

    expect(outcome.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(outcome.answer).toBe('Reviewed the change: no blocking findings.');
    expect(outcome.usage).toEqual({ inputTokens: 80, outputTokens: 18, cachedInputTokens: 0 });
    expect(events).toContainEqual({ kind: 'progress', text: "$ /bin/bash -lc 'echo lane-probe'" });
    // The "model metadata not found" item is a warning the run survives, not an error.
    expect(outcome.errors).toEqual([]);
    expect(classifyFailure('codex', outcome, exited(0), 30)).toBeUndefined();
  });

  it('reads a usage limit and keeps the time codex says it resets', () => {
    const failure = classifyFailure('codex', foldEvents(recorded('codex-usage-limit')), exited(1), 30);
    expect(failure).toEqual({
      kind: 'usage-limit',
      message: 'codex usage limit reached, resets at Jan 1st, 2100 12:00 AM',
    });
  });

  it('reads a refresh token that expired as a login to renew on the host', () => {
    const outcome = foldEvents(recorded('codex-auth-error'));
    expect(outcome.errors).toHaveLength(1);
    expect(classifyFailure('codex', outcome, exited(1), 30)?.message).toMatch(
      /^codex login expired: refresh on the host \(`codex login`\)/,
    );
  });
});

describe('failures without a CLI message', () => {
  const quiet = foldEvents([]);

  it('a timeout says how long the agent had', () => {
    expect(classifyFailure('codex', quiet, { exitCode: null, timedOut: true, stderrTail: '' }, 5)?.message).toBe(
      'codex did not finish within 5 minutes; its process tree was killed',
    );
  });

  it('a run that ended well is not failed by a limit or login notice it logged on stderr', () => {
    const answered = foldEvents(recorded('claude-success'));
    expect(
      classifyFailure(
        'claude',
        answered,
        { exitCode: 0, timedOut: false, stderrTail: 'rate limit reached, retrying in 2s\nplease log in again soon' },
        5,
      ),
    ).toBeUndefined();
  });

  it('a crash quotes the last stderr line', () => {
    expect(
      classifyFailure('claude', quiet, { exitCode: 2, timedOut: false, stderrTail: 'warming up\nerror: boom' }, 5),
    ).toEqual({ kind: 'exit', message: 'claude exited with code 2: error: boom' });
  });
});
