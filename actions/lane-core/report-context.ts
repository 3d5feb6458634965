// Where a lane's reports go: the repository, and the pull request and commit when the job runs for one.

export interface ReportContext {
  owner: string;
  repo: string;
  pullNumber?: number;
  headSha?: string;
  /** Link to the workflow run, for the comment and the check. */
  runUrl?: string;
  /** The check run created in_progress at the start, which the report completes. */
  checkRunId?: number;
  checkRunUrl?: string;
}

/** GitHub's limit on comment bodies and check-run output text. */
export const GITHUB_TEXT_LIMIT = 65_000;

export function truncate(text: string, limit: number): string {
  return text.length <= limit
    ? text
    : `${text.slice(0, limit - 60)}\n\n… (truncated, ${text.length - limit + 60} characters more)`;
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m ${s % 60}s`;
}
