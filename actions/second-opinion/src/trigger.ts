// What asked for a second opinion, read from the event: a `/second-opinion` comment on a PR, the
// `second-opinion` label, a maintainer's dispatch, or (with `automatic`) a ready pull request's new head, so a repo
// that requires the check gets it on every pull request without anyone asking. Anything else, an edited comment
// included, is ignored.
import { obj, type Json } from '../../lane-core/lane-event.js';
import { parseCommand, type SecondOpinionCommand } from './command.js';

export interface Trigger {
  kind: 'comment' | 'label' | 'dispatch' | 'automatic';
  pullNumber: number;
  actor: { login: string; isBot: boolean };
  command: SecondOpinionCommand;
  /** The comment to react to, for comment triggers. */
  commentId?: number;
  /** For a dispatch: the head SHA the maintainer read; a head that moved since is refused. */
  expectedSha?: string;
}

export type TriggerResult = { trigger: Trigger } | { ignored: string };

/** Pull request actions that give it a head nobody reviewed yet; a draft waits for `ready_for_review`. */
export const AUTOMATIC_ACTIONS = ['opened', 'reopened', 'ready_for_review', 'synchronize'];

function actorOf(user: unknown): Trigger['actor'] {
  const u = obj(user);
  const login = typeof u.login === 'string' ? u.login : '';
  return { login, isBot: u.type === 'Bot' || login.endsWith('[bot]') };
}

export function readTrigger(
  eventName: string,
  payload: Json,
  dispatchedPr?: number,
  dispatchedSha?: string,
  automatic = false,
): TriggerResult {
  if (eventName === 'issue_comment') {
    if (payload.action !== 'created')
      return { ignored: `issue_comment ${String(payload.action)}: only new comments ask for a review` };
    const issue = obj(payload.issue);
    if (!issue.pull_request) return { ignored: 'the comment is on an issue, not a pull request' };
    const comment = obj(payload.comment);
    const command = parseCommand(typeof comment.body === 'string' ? comment.body : '');
    if (!command) return { ignored: 'the comment has no /second-opinion command' };
    return {
      trigger: {
        kind: 'comment',
        pullNumber: Number(issue.number),
        actor: actorOf(comment.user),
        command,
        commentId: Number(comment.id),
      },
    };
  }
  if (eventName === 'pull_request' || eventName === 'pull_request_target') {
    const pr = obj(payload.pull_request);
    if (automatic && eventName === 'pull_request' && AUTOMATIC_ACTIONS.includes(String(payload.action))) {
      if (pr.draft === true) return { ignored: 'a draft pull request is reviewed when it is marked ready' };
      return {
        trigger: {
          kind: 'automatic',
          pullNumber: Number(pr.number),
          actor: actorOf(payload.sender),
          command: { focus: '' },
        },
      };
    }
    if (payload.action !== 'labeled' || obj(payload.label).name !== 'second-opinion')
      return {
        ignored: automatic
          ? `pull_request ${String(payload.action)} asks for no review (automatic reviews: ${AUTOMATIC_ACTIONS.join(', ')})`
          : 'only the second-opinion label asks for a review',
      };
    return {
      trigger: {
        kind: 'label',
        pullNumber: Number(pr.number),
        actor: actorOf(payload.sender),
        command: { focus: '' },
      },
    };
  }
  if (eventName === 'workflow_dispatch') {
    const fromInputs = Number(obj(payload.inputs)['pr-number']);
    const pullNumber = dispatchedPr ?? (Number.isInteger(fromInputs) && fromInputs > 0 ? fromInputs : undefined);
    if (!pullNumber) throw new Error('input "pr-number" is required for workflow_dispatch');
    // A dispatch is a maintainer vouching for commits they read; without the SHA, whatever is pushed next gets reviewed.
    const expectedSha = (dispatchedSha ?? String(obj(payload.inputs)['expected-sha'] ?? '')).trim().toLowerCase();
    if (!/^[0-9a-f]{40}$/.test(expectedSha)) {
      throw new Error(
        `input "expected-sha" is required for workflow_dispatch: the full head SHA of pull request #${pullNumber} as you read it, got ${JSON.stringify(expectedSha)}`,
      );
    }
    return {
      trigger: { kind: 'dispatch', pullNumber, actor: actorOf(payload.sender), command: { focus: '' }, expectedSha },
    };
  }
  return { ignored: `the ${eventName} event does not ask for a second opinion` };
}
