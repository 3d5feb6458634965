// The review's text: verdict, which commit it is about, who asked and why this agent, the findings, which files
// it read, and how it compares with the other agent's review.
import { reportedAnswer } from '../../lane-core/partial-answer.js';
import type { Finding } from '../../lane-core/findings.js';
import type { LaneResult } from '../../lane-core/lane-run.js';
import { formatDuration, GITHUB_TEXT_LIMIT, truncate } from '../../lane-core/report-context.js';
import type { AgentChoice } from './agent-choice.js';
import type { DiffCapture } from './diff-capture.js';
import type { Comparison } from './opinion-compare.js';

export interface ReviewFacts {
  result: LaneResult;
  choice: AgentChoice;
  sha: string;
  /** Set when the PR's head moved while the review ran. */
  movedTo?: string;
  requester: string;
  focus: string;
  diff: DiffCapture;
  comparison?: Comparison;
  runUrl?: string;
}

const VERDICT = {
  success: '✅ no blocking findings',
  failure: '❌ blocking findings',
  neutral: '⚪ could not judge',
} as const;
const ICON: Record<Finding['severity'], string> = { failure: '🛑', warning: '⚠️', notice: '💬' };
const short = (sha: string) => sha.slice(0, 7);
const where = (f: { path: string; line: number }) => `\`${f.path}:${f.line}\``;

export function reviewBody(f: ReviewFacts, marker: string): string {
  const r = f.result;
  const lines = [
    marker,
    `### Second opinion from ${r.agent}: ${r.failure ? `❌ ${r.failure.kind}` : VERDICT[r.conclusion]}`,
    '',
  ];
  lines.push(
    f.movedTo
      ? `> ⚠️ The head moved to ${short(f.movedTo)} while this review ran: it is about ${short(f.sha)}, not the current head.`
      : `Reviewed commit ${short(f.sha)}.`,
  );
  lines.push(
    `Asked by @${f.requester}${f.focus ? ` (focus: ${f.focus.replace(/\n/g, ' ')})` : ''}; ${r.agent} was chosen because ${f.choice.reason}.`,
    '',
  );
  if (r.failure) lines.push(`**${r.failure.kind}**: ${r.failure.message}`, '');
  const summary = r.breach
    ? reportedAnswer(r)
    : typeof (r.structured as { summary?: unknown } | undefined)?.summary === 'string'
      ? (r.structured as { summary: string }).summary
      : r.answer;
  if (summary) lines.push(summary, '');
  if (r.findings.length) {
    lines.push(
      '**Findings**',
      '',
      ...r.findings.map(
        (x) =>
          `- ${ICON[x.severity]} ${where({ path: x.path, line: x.line })}${x.title ? ` **${x.title}**` : ''}: ${x.message}`,
      ),
      '',
    );
  }
  if (f.comparison) lines.push(...comparisonLines(f.comparison), '');
  lines.push(
    '<details><summary>Files</summary>',
    '',
    `Read: ${f.diff.included.map((d) => `\`${d.path}\``).join(', ') || 'none'}.`,
    f.diff.skipped.length
      ? `Skipped for size: ${f.diff.skipped.map((s) => `\`${s.path}\` (${Math.ceil(s.bytes / 1024)} KiB)`).join(', ')}.`
      : 'Nothing was skipped.',
    '</details>',
    '',
  );
  const facts = [
    r.model ?? 'default model',
    formatDuration(r.usage.durationMs),
    `${r.usage.inputTokens}→${r.usage.outputTokens} tokens`,
  ];
  if (f.runUrl) facts.push(`[run](${f.runUrl})`);
  lines.push(`<sub>${facts.join(' · ')}</sub>`);
  // GitHub refuses a longer review body outright (422), and the verdict would then reach only the check run.
  return truncate(r.scrub(lines.join('\n')), GITHUB_TEXT_LIMIT);
}

function comparisonLines(c: Comparison): string[] {
  const list = (items: Comparison['agreed']) =>
    items.length ? items.map((x) => `  - ${where(x)}: ${x.message}`) : ['  - none'];
  return [
    `**Compared with ${c.other}'s review** (${c.sameConclusion ? 'same verdict' : 'different verdicts'})`,
    '',
    '- Both found:',
    ...list(c.agreed),
    '- Only this review:',
    ...list(c.onlyThis),
    `- Only ${c.other}:`,
    ...list(c.onlyOther),
  ];
}
