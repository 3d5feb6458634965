// What a run stopped at a budget still reports: the marker first, then what the agent had said so far, then the
// steps it took. Never empty: a run stopped before its first word still shows where it was stopped and what it did.
import { breachText, partialMarker } from './lane-budget.js';
import type { LaneResult } from './lane-run.js';

const STEPS_SHOWN = 15;

/** The answer as reports show it: a stopped run's, marked partial; else the answer itself. */
export function reportedAnswer(r: Pick<LaneResult, 'answer' | 'breach' | 'progress'>): string {
  if (!r.breach) return r.answer;
  const lines = [`**${partialMarker(r.breach)}**`, ''];
  lines.push(r.answer || '_the agent had given no answer yet_', '');
  const steps = r.progress.slice(-STEPS_SHOWN);
  if (steps.length)
    lines.push('What it did before it was stopped:', '', ...steps.map((s) => `- ${s.replace(/\n/g, ' ')}`));
  return lines.join('\n').trim();
}

/** The check run's title for a result: a stopped run names its budget. */
export function resultTitle(r: Pick<LaneResult, 'agent' | 'conclusion' | 'failure' | 'breach'>): string {
  if (r.breach) return `${r.agent}: stopped at budget (${breachText(r.breach)})`;
  return r.failure ? `${r.agent}: ${r.failure.kind}` : `${r.agent}: ${r.conclusion}`;
}
