// Delivers a lane's result to each place the workflow asked for. Deterministic: the action posts, the model never
// has to call a tool. A report that cannot be posted is a warning; the result still reaches outputs and summary.
import { postCheckRun } from './check-run.js';
import { reportedAnswer, resultTitle } from './partial-answer.js';
import type { LaneGitHub } from './lane-github.js';
import type { LaneResult } from './lane-run.js';
import type { ReportTarget } from './lane-settings.js';
import { formatDuration, GITHUB_TEXT_LIMIT, truncate, type ReportContext } from './report-context.js';
import { upsertStickyComment } from './sticky-comment.js';
import { summaryMarkdown } from './summary-markdown.js';

export interface ReportSinks {
  /** Appends markdown to the job summary. */
  writeSummary: (markdown: string) => Promise<void>;
  warn: (message: string) => void;
  /** Absent when the job has no token to post with. */
  github?: LaneGitHub;
}

export interface ReportNames {
  /** Heading of the summary and comment, e.g. `agent-lane: claude`. */
  title: string;
  /** Sticky-comment key: one comment per key per PR. */
  commentKey: string;
  checkName: string;
}

export interface Delivered {
  commentUrl?: string;
  checkRunUrl?: string;
}

export async function deliverReports(
  r: LaneResult,
  targets: ReportTarget[],
  where: ReportContext,
  names: ReportNames,
  sinks: ReportSinks,
): Promise<Delivered> {
  const delivered: Delivered = {};
  const attempt = async (what: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (err) {
      sinks.warn(`could not post the ${what}: ${r.scrub((err as Error).message)}`);
    }
  };
  if (targets.includes('summary'))
    await attempt('job summary', () => sinks.writeSummary(summaryMarkdown(names.title, r)));
  const wantsPr = targets.filter((t) => t !== 'summary');
  if (!wantsPr.length) return delivered;
  if (!sinks.github || where.pullNumber === undefined || !where.headSha) {
    sinks.warn(
      `skipped ${wantsPr.join(' and ')}: ${sinks.github ? 'this event is not about a pull request' : 'no github-token to post with'}`,
    );
    return delivered;
  }
  const gh = sinks.github;
  if (targets.includes('comment')) {
    await attempt('comment', async () => {
      const { comment } = await upsertStickyComment(
        gh,
        where.pullNumber!,
        names.commentKey,
        commentText(names.title, r, where),
      );
      delivered.commentUrl = comment.html_url;
    });
  }
  if (targets.includes('check')) {
    await attempt('check run', async () => {
      const run = await postCheckRun(gh, {
        name: names.checkName,
        headSha: where.headSha!,
        conclusion: r.conclusion,
        title: resultTitle(r),
        summary: r.scrub(
          [
            r.failure ? `**${r.failure.kind}**: ${r.failure.message}\n` : '',
            reportedAnswer(r) || '_no answer_',
            r.egress && r.egress !== 'nothing blocked' ? `\n**egress** ${r.egress}` : '',
          ].join('\n'),
        ),
        findings: r.findings,
        detailsUrl: where.runUrl,
        existingId: where.checkRunId,
      });
      delivered.checkRunUrl = run.html_url ?? where.checkRunUrl;
    });
  }
  return delivered;
}

function commentText(title: string, r: LaneResult, where: ReportContext): string {
  const facts = [
    r.model ?? 'default model',
    r.mode,
    formatDuration(r.usage.durationMs),
    `${r.usage.inputTokens}→${r.usage.outputTokens} tokens`,
    `${r.usage.turns} turns`,
  ];
  if (r.usage.costUsd !== undefined) facts.push(`$${r.usage.costUsd.toFixed(4)}`);
  if (where.runUrl) facts.push(`[run](${where.runUrl})`);
  const lines = [`### ${title}: ${r.conclusion}`, ''];
  if (r.failure) lines.push(`> **${r.failure.kind}**: ${r.failure.message}`, '');
  lines.push(
    reportedAnswer(r) ? truncate(reportedAnswer(r), GITHUB_TEXT_LIMIT - 2_000) : '_no answer_',
    '',
    `<sub>${facts.join(' · ')}</sub>`,
  );
  return r.scrub(lines.join('\n'));
}
