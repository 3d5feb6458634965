// One second opinion from trigger to verdict: who may ask, fork refusal, the agent, the diff at the SHA of the
// moment, the review by the lane, and the posts (review, check run, reactions). GitHub and the lane are injected.
import { resultTitle } from '../../lane-core/partial-answer.js';
import { postCheckRun } from '../../lane-core/check-run.js';
import type { LaneResult } from '../../lane-core/lane-run.js';
import { AGENTS, type Agent } from '../../lane-core/lane-settings.js';
import type { PullRequestContext } from '../../lane-core/lane-prompt.js';
import { commentMarker } from '../../lane-core/sticky-comment.js';
import { chooseAgent } from './agent-choice.js';
import { capDiff, splitDiff } from './diff-capture.js';
import { compareOpinions, opinionMarker, readOpinion, type OpinionRecord } from './opinion-compare.js';
import { reviewBody } from './review-body.js';
import { parseReviewConfig, REVIEW_CONFIG_PATH } from './review-config.js';
import type { PullRequestInfo, Reaction, ReviewComment, ReviewGitHub } from './review-github.js';
import { lineComment } from './line-comment.js';
import { reviewInstructions } from './review-prompt.js';
import type { Trigger } from './trigger.js';

export interface OpinionSettings {
  defaultAgent: Agent;
  allowedBots: string[];
  maxDiffBytes: number;
}

export interface OpinionDeps {
  gh: ReviewGitHub;
  /** Runs the chosen agent in review mode with the review schema and returns the lane's result. */
  review: (agent: Agent, instructions: string, pr: PullRequestContext) => Promise<LaneResult>;
  log: (line: string) => void;
  warn: (line: string) => void;
}

export interface Where {
  owner: string;
  repo: string;
  runUrl?: string;
}

export type OpinionOutcome =
  | { status: 'denied' | 'refused-fork' | 'refused-moved'; reply: string }
  | {
      status: 'reviewed';
      agent: Agent;
      sha: string;
      moved: boolean;
      result: LaneResult;
      reviewUrl?: string;
      checkRunUrl?: string;
    };

const WRITE_ROLES = new Set(['admin', 'maintain', 'write']);
const CHECK_NAME = 'second-opinion';

export async function secondOpinion(
  trigger: Trigger,
  settings: OpinionSettings,
  deps: OpinionDeps,
  where: Where,
): Promise<OpinionOutcome> {
  const { gh } = deps;
  const denial = await refusal(trigger, settings, gh);
  if (denial) return reply(deps, trigger, 'denied', denial);

  const pr = await gh.pullRequest(trigger.pullNumber);
  // A credentialed lane never runs on a fork's change by comment or label: the diff could be crafted to steer
  // the agent. A maintainer who read it can still dispatch.
  if (pr.headRepo !== pr.baseRepo && trigger.kind !== 'dispatch') {
    return reply(deps, trigger, 'refused-fork', forkMessage(trigger, pr));
  }
  if (trigger.kind === 'dispatch' && pr.headSha !== trigger.expectedSha) {
    return reply(deps, trigger, 'refused-moved', movedMessage(trigger, pr));
  }
  const sha = pr.headSha;
  if (trigger.commentId) await attempt(deps, 'add the 👀 reaction', () => gh.react(trigger.commentId!, 'eyes'));

  const [messages, allComments, allReviews, diffText, configText, self] = await Promise.all([
    gh.commitMessages(pr.number),
    gh.listIssueComments(pr.number),
    gh.listReviews(pr.number),
    gh.diff(pr.baseSha, sha),
    gh.fileAt(REVIEW_CONFIG_PATH, pr.baseSha),
    gh.selfLogin(),
  ]);
  const repoFocus = readRepoFocus(configText, deps);
  // Markers steer the agent choice and the agree/disagree comparison: only the ones this token's identity posted
  // count, or any commenter could paste one in.
  const comments = allComments.filter((c) => c.user?.login === self);
  const reviews = allReviews.filter((r) => r.login === self);
  const laneAgents = AGENTS.filter((a) =>
    comments.some((c) => (c.body ?? '').startsWith(commentMarker(`agent-lane:${a}`))),
  );
  const choice = chooseAgent(
    trigger.command.agent,
    { headRef: pr.headRef, authorLogin: pr.author, commitMessages: messages, laneCommentAgents: [...laneAgents] },
    settings.defaultAgent,
  );
  deps.log(`second opinion on #${pr.number} at ${sha} by ${choice.agent}: ${choice.reason}`);
  const diff = capDiff(splitDiff(diffText), settings.maxDiffBytes);
  const repository = `${where.owner}/${where.repo}`;

  const result = await deps
    .review(
      choice.agent,
      reviewInstructions({ repository, pullNumber: pr.number, sha, focus: trigger.command.focus, repoFocus, diff }),
      {
        repository,
        number: pr.number,
        title: pr.title,
        body: pr.body,
        author: pr.author,
        baseRef: pr.baseRef,
        headRef: pr.headRef,
        headSha: sha,
        url: pr.url,
      },
    )
    .catch(async (err: Error) => {
      // A review that could not run at all (no credentials on this lane, no CLI) still answers the 👀: a failed
      // check on the SHA says why, where a required check would otherwise wait forever, then the step fails.
      await attempt(deps, 'create the check run', async () => {
        await postCheckRun(gh, {
          name: CHECK_NAME,
          headSha: sha,
          conclusion: 'failure',
          findings: [],
          detailsUrl: where.runUrl,
          title: `${choice.agent}: could not run`,
          summary: `The ${choice.agent} review could not run: ${err.message}`,
        });
      });
      if (trigger.commentId) await attempt(deps, 'add the final reaction', () => gh.react(trigger.commentId!, '-1'));
      throw err;
    });

  const now = await gh.pullRequest(pr.number);
  const moved = now.headSha !== sha;
  const record: OpinionRecord = {
    agent: choice.agent,
    sha,
    conclusion: result.conclusion,
    findings: result.findings.map(({ path, line, severity, message }) => ({ path, line, severity, message })),
  };
  const previous = reviews
    .map((r) => readOpinion(r.body))
    .filter((o): o is OpinionRecord => o !== undefined && o.agent !== choice.agent)
    .at(-1);
  const body = reviewBody(
    {
      result,
      choice,
      sha,
      movedTo: moved ? now.headSha : undefined,
      requester: trigger.actor.login,
      focus: trigger.command.focus,
      diff,
      comparison: previous && compareOpinions(record, previous),
      runUrl: where.runUrl,
    },
    opinionMarker(record),
  );
  const lineComments: ReviewComment[] = result.findings.flatMap((f) => {
    const file = diff.included.find((d) => d.path === f.path);
    const comment = file && lineComment(f, file.commentable);
    return comment ? [{ ...comment, body: result.scrub(comment.body) }] : [];
  });

  const outcome: OpinionOutcome = { status: 'reviewed', agent: choice.agent, sha, moved, result };
  await attempt(deps, 'post the review', async () => {
    outcome.reviewUrl = (await gh.createReview(pr.number, { commitId: sha, body, comments: lineComments })).html_url;
  });
  await attempt(deps, 'create the check run', async () => {
    const run = await postCheckRun(gh, {
      name: CHECK_NAME,
      headSha: sha,
      conclusion: result.conclusion,
      findings: result.findings,
      detailsUrl: where.runUrl,
      title: resultTitle(result),
      summary: body.slice(body.indexOf('\n') + 1),
    });
    outcome.checkRunUrl = run.html_url ?? undefined;
  });
  const final: Reaction = result.conclusion === 'success' ? '+1' : result.conclusion === 'failure' ? '-1' : 'confused';
  if (trigger.commentId) await attempt(deps, 'add the final reaction', () => gh.react(trigger.commentId!, final));
  return outcome;
}

async function refusal(trigger: Trigger, settings: OpinionSettings, gh: ReviewGitHub): Promise<string | undefined> {
  const who = trigger.actor.login;
  if (trigger.actor.isBot) {
    return settings.allowedBots.includes(who)
      ? undefined
      : `@${who} is a bot, and bots may ask for a second opinion only when the workflow lists them in allowed-bots.`;
  }
  const role = await gh.permission(who);
  if (WRITE_ROLES.has(role)) return undefined;
  return (
    `Thanks for asking, @${who}. A second opinion runs a credentialed agent, so only people with write, maintain or ` +
    `admin permission on this repository can request one (yours is ${role}). A maintainer can comment \`/second-opinion\` for you.`
  );
}

function forkMessage(trigger: Trigger, pr: PullRequestInfo): string {
  return (
    `@${trigger.actor.login}, this pull request comes from a fork (${pr.headRepo ?? 'a deleted repository'}), and a second ` +
    "opinion never runs a credentialed agent on a fork's change from a comment or a label. A maintainer can run the " +
    `second-opinion workflow by dispatch with pr-number ${pr.number} after reading the change.`
  );
}

function movedMessage(trigger: Trigger, pr: PullRequestInfo): string {
  return (
    `@${trigger.actor.login}, the head of this pull request is ${pr.headSha}, not ${trigger.expectedSha} as dispatched: ` +
    'it moved after you read it, so no review ran. Read the new commits and dispatch again with the new expected-sha.'
  );
}

async function reply(
  deps: OpinionDeps,
  trigger: Trigger,
  status: 'denied' | 'refused-fork' | 'refused-moved',
  text: string,
): Promise<OpinionOutcome> {
  deps.log(text);
  // Nobody asked for an automatic review: its refusal goes to the log, not into the pull request's conversation.
  if (trigger.kind !== 'automatic') {
    await attempt(deps, 'reply', () => deps.gh.createIssueComment(trigger.pullNumber, text).then(() => undefined));
  }
  return { status, reply: text };
}

/** Posting is best effort: a refused post is a warning, the verdict still reaches outputs and the summary. */
async function attempt(deps: OpinionDeps, what: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    deps.warn(`could not ${what}: ${(err as Error).message}`);
  }
}

/** A config the maintainers broke costs its guidance, not the review: the warning names the file and the key. */
function readRepoFocus(text: string | undefined, deps: OpinionDeps): string {
  try {
    return parseReviewConfig(text).focus;
  } catch (err) {
    deps.warn(`${(err as Error).message}; reviewing without it`);
    return '';
  }
}
