// The slice of GitHub a lane's reports need, behind an interface so the reporting logic is tested on its own
// and the real one is a thin Octokit adapter.
import type { getOctokit } from '@actions/github';
import type { ReportContext } from './report-context.js';

export interface IssueComment {
  id: number;
  body?: string;
  html_url: string;
  user?: { login: string } | null;
}

export interface CheckRunAnnotation {
  path: string;
  start_line: number;
  end_line: number;
  annotation_level: 'notice' | 'warning' | 'failure';
  message: string;
  title?: string;
}

export interface CheckRunOutput {
  title: string;
  summary: string;
  annotations?: CheckRunAnnotation[];
}

export interface LaneGitHub {
  listIssueComments(issue: number): Promise<IssueComment[]>;
  createIssueComment(issue: number, body: string): Promise<IssueComment>;
  updateIssueComment(id: number, body: string): Promise<IssueComment>;
  /** Without a conclusion the run is created `in_progress`, to be completed by updateCheckRun. */
  createCheckRun(run: {
    name: string;
    head_sha: string;
    conclusion?: string;
    details_url?: string;
    output: CheckRunOutput;
  }): Promise<{ id: number; html_url: string | null }>;
  /** Adds output (annotations append); with `finish`, also completes the run. */
  updateCheckRun(id: number, output: CheckRunOutput, finish?: { conclusion: string }): Promise<void>;
  /** A file's text at a commit, or undefined when it is not there. */
  readFileAt(path: string, ref: string): Promise<string | undefined>;
}

type Octokit = ReturnType<typeof getOctokit>;

export function octokitLaneGitHub(octokit: Octokit, where: Pick<ReportContext, 'owner' | 'repo'>): LaneGitHub {
  const repo = { owner: where.owner, repo: where.repo };
  return {
    listIssueComments: (issue) =>
      octokit.paginate(octokit.rest.issues.listComments, { ...repo, issue_number: issue, per_page: 100 }),
    createIssueComment: async (issue, body) =>
      (await octokit.rest.issues.createComment({ ...repo, issue_number: issue, body })).data,
    updateIssueComment: async (id, body) =>
      (await octokit.rest.issues.updateComment({ ...repo, comment_id: id, body })).data,
    createCheckRun: async ({ conclusion, ...run }) =>
      (
        await octokit.rest.checks.create({
          ...repo,
          ...run,
          ...(conclusion
            ? {
                conclusion: conclusion as 'success',
                status: 'completed' as const,
                completed_at: new Date().toISOString(),
              }
            : { status: 'in_progress' as const, started_at: new Date().toISOString() }),
        })
      ).data,
    updateCheckRun: async (id, output, finish) =>
      void (await octokit.rest.checks.update({
        ...repo,
        check_run_id: id,
        output,
        ...(finish
          ? {
              conclusion: finish.conclusion as 'success',
              status: 'completed' as const,
              completed_at: new Date().toISOString(),
            }
          : {}),
      })),
    readFileAt: (path, ref) => readFileAt(octokit, repo, path, ref),
  };
}

/** A file's text at a commit, or undefined when the commit has no such file (404) or the path is not a file. */
export async function readFileAt(
  octokit: Octokit,
  repo: { owner: string; repo: string },
  path: string,
  ref: string,
): Promise<string | undefined> {
  try {
    const { data } = await octokit.rest.repos.getContent({ ...repo, path, ref });
    return 'content' in data && data.type === 'file' ? Buffer.from(data.content, 'base64').toString('utf8') : undefined;
  } catch (err) {
    if ((err as { status?: number }).status === 404) return undefined;
    throw err;
  }
}
