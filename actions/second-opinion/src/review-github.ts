// The GitHub a second opinion needs beyond the lane's reports: permissions, the PR and its commits, the diff at
// one SHA, reactions, comments and reviews. An interface for the orchestration; a thin Octokit adapter for real.
import type { getOctokit } from '@actions/github';
import { octokitLaneGitHub, readFileAt, type LaneGitHub } from '../../lane-core/lane-github.js';
import type { ReportContext } from '../../lane-core/report-context.js';

export interface PullRequestInfo {
  number: number;
  title: string;
  body: string;
  author: string;
  headSha: string;
  headRef: string;
  baseSha: string;
  baseRef: string;
  /** `owner/name` of the head repository; null when the fork was deleted. */
  headRepo: string | null;
  baseRepo: string;
  url: string;
}

export type Reaction = 'eyes' | '+1' | '-1' | 'confused';

/** A line comment; with startLine, it spans startLine..line (a multi-line suggestion replaces them all). */
export interface ReviewComment {
  path: string;
  line: number;
  startLine?: number;
  body: string;
}

export interface ReviewGitHub extends LaneGitHub {
  permission(login: string): Promise<string>;
  pullRequest(number: number): Promise<PullRequestInfo>;
  commitMessages(number: number): Promise<string[]>;
  /** The unified diff of `base...head`, for exactly these commits. */
  diff(base: string, head: string): Promise<string>;
  react(commentId: number, content: Reaction): Promise<void>;
  listReviews(number: number): Promise<Array<{ id: number; body: string; login?: string }>>;
  /** The login this token posts as. */
  selfLogin(): Promise<string>;
  createReview(
    number: number,
    review: { commitId: string; body: string; comments: ReviewComment[] },
  ): Promise<{ id: number; html_url: string }>;
  /** GitHub's gzipped tarball of the tree at `ref`. */
  tarball(ref: string): Promise<Buffer>;
  /** A file's text at `ref`, or undefined when there is none. */
  fileAt(path: string, ref: string): Promise<string | undefined>;
}

type Octokit = ReturnType<typeof getOctokit>;

export function octokitReviewGitHub(octokit: Octokit, where: Pick<ReportContext, 'owner' | 'repo'>): ReviewGitHub {
  const repo = { owner: where.owner, repo: where.repo };
  return {
    ...octokitLaneGitHub(octokit, where),
    permission: async (username) => {
      const { data } = await octokit.rest.repos.getCollaboratorPermissionLevel({ ...repo, username });
      // `permission` folds maintain into write; role_name keeps it (and custom roles).
      return data.role_name || data.permission;
    },
    pullRequest: async (pull_number) => {
      const { data: pr } = await octokit.rest.pulls.get({ ...repo, pull_number });
      return {
        number: pr.number,
        title: pr.title,
        body: pr.body ?? '',
        author: pr.user.login,
        headSha: pr.head.sha,
        headRef: pr.head.ref,
        baseSha: pr.base.sha,
        baseRef: pr.base.ref,
        headRepo: pr.head.repo?.full_name ?? null,
        baseRepo: pr.base.repo.full_name,
        url: pr.html_url,
      };
    },
    commitMessages: async (pull_number) =>
      (await octokit.paginate(octokit.rest.pulls.listCommits, { ...repo, pull_number, per_page: 100 })).map(
        (c) => c.commit.message,
      ),
    diff: async (base, head) => {
      const { data } = await octokit.rest.repos.compareCommitsWithBasehead({
        ...repo,
        basehead: `${base}...${head}`,
        mediaType: { format: 'diff' },
      });
      return data as unknown as string;
    },
    react: async (comment_id, content) =>
      void (await octokit.rest.reactions.createForIssueComment({ ...repo, comment_id, content })),
    listReviews: async (pull_number) =>
      (await octokit.paginate(octokit.rest.pulls.listReviews, { ...repo, pull_number, per_page: 100 })).map((r) => ({
        id: r.id,
        body: r.body,
        login: r.user?.login,
      })),
    selfLogin: async () => {
      try {
        return (await octokit.rest.users.getAuthenticated()).data.login;
      } catch (err) {
        // An installation token (GITHUB_TOKEN) cannot read /user; it posts as the Actions bot.
        if ((err as { status?: number }).status === 403) return 'github-actions[bot]';
        throw err;
      }
    },
    createReview: async (pull_number, review) => {
      const { data } = await octokit.rest.pulls.createReview({
        ...repo,
        pull_number,
        commit_id: review.commitId,
        body: review.body,
        event: 'COMMENT',
        comments: review.comments.map((c) => ({
          path: c.path,
          line: c.line,
          side: 'RIGHT' as const,
          body: c.body,
          ...(c.startLine !== undefined && c.startLine < c.line
            ? { start_line: c.startLine, start_side: 'RIGHT' as const }
            : {}),
        })),
      });
      return { id: data.id, html_url: data.html_url };
    },
    tarball: async (ref) =>
      Buffer.from((await octokit.rest.repos.downloadTarballArchive({ ...repo, ref })).data as ArrayBuffer),
    fileAt: (path, ref) => readFileAt(octokit, repo, path, ref),
  };
}
