// The job summary: what ran, what it cost, what it said, and the tail of what it did.
import type { LaneResult } from './lane-run.js';
import { breachText, BUDGET_WORDS, type Budget } from './lane-budget.js';
import { reportedAnswer } from './partial-answer.js';
import { formatDuration, truncate } from './report-context.js';

const ICON = { success: '✅', failure: '❌', neutral: '⚪' } as const;

export function summaryMarkdown(title: string, r: LaneResult): string {
  const cost = r.usage.costUsd === undefined ? 'n/a' : `$${r.usage.costUsd.toFixed(4)}`;
  const rows = [
    ['agent', r.agent],
    ['model', r.model ?? 'default'],
    ['mode', r.mode],
    ['duration', formatDuration(r.usage.durationMs)],
    ['tokens in / out (cached)', `${r.usage.inputTokens} / ${r.usage.outputTokens} (${r.usage.cachedInputTokens})`],
    ['cost', cost],
    ['turns', String(r.usage.turns)],
    ['budget', budgetText(r.budget)],
    ['session', r.sessionId ?? 'n/a'],
    ...(r.egress ? [['egress', r.egress]] : []),
  ];
  if (r.breach) rows.splice(1, 0, ['stopped at budget', breachText(r.breach)]);
  const lines = [
    `## ${ICON[r.conclusion]} ${title}: ${r.conclusion}`,
    '',
    '| | |',
    '|---|---|',
    ...rows.map(([k, v]) => `| ${k} | ${escapeCell(v!)} |`),
    '',
  ];
  if (r.failure) lines.push(`> **${r.failure.kind}**: ${r.failure.message}`, '');
  const answer = reportedAnswer(r);
  lines.push(r.breach ? '### Partial answer' : '### Answer', '', answer ? truncate(answer, 30_000) : '_no answer_', '');
  if (r.progress.length) {
    lines.push(
      `<details><summary>Transcript tail (last ${r.progress.length} steps; full transcript: <code>${r.transcriptPath}</code>)</summary>`,
      '',
      '```text',
      ...r.progress.map((l) => l.replace(/```/g, "'''")),
      '```',
      '</details>',
      '',
    );
  }
  return r.scrub(lines.join('\n'));
}

const escapeCell = (v: string) => v.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The limits the run had: `wall clock 30m, turns 40`. */
export function budgetText(b: Budget): string {
  const parts = [`${BUDGET_WORDS.wallClockMinutes.spoken} ${b.wallClockMinutes}m`];
  if (b.turns !== undefined) parts.push(`turns ${b.turns}`);
  if (b.tokens !== undefined) parts.push(`tokens ${b.tokens}`);
  if (b.costUsd !== undefined) parts.push(`cost $${b.costUsd.toFixed(2)}`);
  return parts.join(', ');
}
