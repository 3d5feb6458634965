// The check run on the head commit: conclusion, summary, and annotations at the lines the agent named.
import type { Finding } from './findings.js';
import type { CheckRunAnnotation, CheckRunOutput, LaneGitHub } from './lane-github.js';
import type { Conclusion } from './findings.js';
import { GITHUB_TEXT_LIMIT, truncate } from './report-context.js';

/** GitHub takes at most 50 annotations per request; more go in follow-up updates of the same run. */
const ANNOTATION_BATCH = 50;

export interface CheckRunReport {
  name: string;
  headSha: string;
  conclusion: Conclusion;
  title: string;
  summary: string;
  findings: Finding[];
  detailsUrl?: string;
  /** A run created in_progress when the agent started (startCheckRun): completed instead of a second one made. */
  existingId?: number;
}

export function annotationsOf(findings: Finding[]): CheckRunAnnotation[] {
  return findings.map((f) => ({
    path: f.path,
    start_line: f.line,
    end_line: f.endLine,
    annotation_level: f.severity,
    message: truncate(f.message, 60_000),
    ...(f.title ? { title: f.title.slice(0, 255) } : {}),
  }));
}

export async function postCheckRun(
  gh: LaneGitHub,
  report: CheckRunReport,
): Promise<{ id: number; html_url: string | null }> {
  const annotations = annotationsOf(report.findings);
  const output = (batch: CheckRunAnnotation[]): CheckRunOutput => ({
    title: report.title.slice(0, 255),
    summary: truncate(report.summary, GITHUB_TEXT_LIMIT),
    ...(batch.length ? { annotations: batch } : {}),
  });
  const run =
    report.existingId !== undefined
      ? await gh
          .updateCheckRun(report.existingId, output(annotations.slice(0, ANNOTATION_BATCH)), {
            conclusion: report.conclusion,
          })
          .then(() => ({ id: report.existingId!, html_url: null }))
      : await gh.createCheckRun({
          name: report.name,
          head_sha: report.headSha,
          conclusion: report.conclusion,
          ...(report.detailsUrl ? { details_url: report.detailsUrl } : {}),
          output: output(annotations.slice(0, ANNOTATION_BATCH)),
        });
  for (let i = ANNOTATION_BATCH; i < annotations.length; i += ANNOTATION_BATCH) {
    await gh.updateCheckRun(run.id, output(annotations.slice(i, i + ANNOTATION_BATCH)));
  }
  return run;
}

/** The run shown while the agent works, so a reader sees it started; every path of the run completes it. */
export async function startCheckRun(
  gh: LaneGitHub,
  run: { name: string; headSha: string; title: string; detailsUrl?: string },
): Promise<{ id: number; html_url: string | null }> {
  return gh.createCheckRun({
    name: run.name,
    head_sha: run.headSha,
    ...(run.detailsUrl ? { details_url: run.detailsUrl } : {}),
    output: { title: run.title.slice(0, 255), summary: 'The agent is working; this run is completed with its answer.' },
  });
}
