import { describe, expect, it } from 'vitest';
import { chooseAgent } from '../../actions/second-opinion/src/agent-choice.js';
import { parseCommand } from '../../actions/second-opinion/src/command.js';
import { capDiff, splitDiff } from '../../actions/second-opinion/src/diff-capture.js';
import {
  compareOpinions,
  opinionMarker,
  readOpinion,
  type OpinionRecord,
} from '../../actions/second-opinion/src/opinion-compare.js';
import { parseOpinionInputs } from '../../actions/second-opinion/src/opinion-settings.js';
import { readTrigger } from '../../actions/second-opinion/src/trigger.js';
import { webhookExample } from '../support/action-run.js';

describe('the /second-opinion command', () => {
  it('takes an agent and a focus from the rest of the line', () => {
    expect(parseCommand('/second-opinion claude focus on auth')).toEqual({ agent: 'claude', focus: 'focus on auth' });
    expect(parseCommand('/second-opinion')).toEqual({ focus: '' });
    expect(parseCommand('/second-opinion the error paths, please')).toEqual({ focus: 'the error paths, please' });
  });

  it('ignores case in the command and the agent name', () => {
    expect(parseCommand('/Second-Opinion CODEX')).toEqual({ agent: 'codex', focus: '' });
  });

  it('counts only at the start of a line', () => {
    expect(parseCommand('Could someone run /second-opinion here?')).toBeUndefined();
    expect(parseCommand('Thanks!\n/second-opinion codex: check the migration')).toEqual({
      agent: 'codex',
      focus: 'check the migration',
    });
  });

  it('does not match a longer word', () => {
    expect(parseCommand('/second-opinionated take')).toBeUndefined();
  });

  it('skips fenced code blocks and quotes', () => {
    expect(parseCommand('```\n/second-opinion claude\n```')).toBeUndefined();
    expect(parseCommand('~~~~md\n```\n/second-opinion\n~~~~\n')).toBeUndefined();
    expect(parseCommand('> /second-opinion claude\nI disagree')).toBeUndefined();
    expect(parseCommand('```\nx\n```\n/second-opinion claude')).toEqual({ agent: 'claude', focus: '' });
  });
});

describe('triggers', () => {
  const comment = (action: string, body: string, onPr = true) => {
    const payload = webhookExample('issue_comment', action);
    (payload.comment as Record<string, unknown>).body = body;
    if (onPr)
      (payload.issue as Record<string, unknown>).pull_request = {
        url: 'https://api.github.com/repos/Codertocat/Hello-World/pulls/1',
      };
    return payload;
  };

  it('a new PR comment with the command triggers, with the comment to react to', () => {
    const found = readTrigger('issue_comment', comment('created', '/second-opinion claude'));
    expect(found).toMatchObject({
      trigger: {
        kind: 'comment',
        pullNumber: 1,
        actor: { login: 'Codertocat', isBot: false },
        command: { agent: 'claude' },
      },
    });
    expect('trigger' in found && found.trigger.commentId).toBeGreaterThan(0);
  });

  it('an edited comment never triggers', () => {
    expect(readTrigger('issue_comment', comment('edited', '/second-opinion claude'))).toEqual({
      ignored: 'issue_comment edited: only new comments ask for a review',
    });
  });

  it('a comment on an issue does not trigger', () => {
    expect(readTrigger('issue_comment', comment('created', '/second-opinion', false))).toEqual({
      ignored: 'the comment is on an issue, not a pull request',
    });
  });

  it('the second-opinion label triggers; other labels do not', () => {
    const labeled = webhookExample('pull_request', 'labeled');
    (labeled.label as Record<string, unknown>).name = 'second-opinion';
    expect(readTrigger('pull_request', labeled)).toMatchObject({ trigger: { kind: 'label', pullNumber: 2 } });
    (labeled.label as Record<string, unknown>).name = 'bug';
    expect(readTrigger('pull_request', labeled)).toHaveProperty('ignored');
  });

  it("with automatic, a ready pull request's new head triggers; a draft, another action or automatic off do not", () => {
    for (const action of ['opened', 'reopened', 'ready_for_review', 'synchronize']) {
      const event = webhookExample('pull_request', action === 'ready_for_review' ? 'opened' : action);
      event.action = action;
      (event.pull_request as Record<string, unknown>).draft = false;
      expect(readTrigger('pull_request', event, undefined, undefined, true)).toMatchObject({
        trigger: { kind: 'automatic', pullNumber: 2, command: { focus: '' } },
      });
      expect(readTrigger('pull_request', event)).toEqual({
        ignored: 'only the second-opinion label asks for a review',
      });
      (event.pull_request as Record<string, unknown>).draft = true;
      expect(readTrigger('pull_request', event, undefined, undefined, true)).toEqual({
        ignored: 'a draft pull request is reviewed when it is marked ready',
      });
    }
    const closed = webhookExample('pull_request', 'closed');
    expect(readTrigger('pull_request', closed, undefined, undefined, true)).toHaveProperty(
      'ignored',
      expect.stringContaining('pull_request closed asks for no review'),
    );
    // pull_request_target runs the base's workflow with a write token on the head's change: never automatic.
    const target = webhookExample('pull_request', 'opened');
    expect(readTrigger('pull_request_target', target, undefined, undefined, true)).toHaveProperty('ignored');
  });

  it('a dispatch needs a PR number and the head SHA the maintainer read', () => {
    const sha = 'a'.repeat(40);
    expect(readTrigger('workflow_dispatch', { sender: { login: 'maint' } }, 7, sha)).toMatchObject({
      trigger: { kind: 'dispatch', pullNumber: 7, expectedSha: sha },
    });
    expect(() => readTrigger('workflow_dispatch', { sender: { login: 'maint' } })).toThrow(
      'input "pr-number" is required for workflow_dispatch',
    );
    expect(() => readTrigger('workflow_dispatch', { sender: { login: 'maint' } }, 7)).toThrow(
      'input "expected-sha" is required for workflow_dispatch: the full head SHA of pull request #7 as you read it, got ""',
    );
  });
});

describe('agent choice', () => {
  const authorship = { headRef: 'feature/x', authorLogin: 'ali', commitMessages: [], laneCommentAgents: [] };

  it('prefers the agent named in the command', () => {
    expect(chooseAgent('codex', { ...authorship, headRef: 'codex/fix' }, 'claude')).toEqual({
      agent: 'codex',
      reason: 'named in the command',
    });
  });

  it('picks the other agent from the head branch prefix', () => {
    expect(chooseAgent(undefined, { ...authorship, headRef: 'codex/fix-login' }, 'codex')).toEqual({
      agent: 'claude',
      reason: 'codex wrote the PR (head branch codex/fix-login)',
    });
  });

  it('reads bot authors and Co-authored-by trailers', () => {
    expect(chooseAgent(undefined, { ...authorship, authorLogin: 'chatgpt-codex-connector[bot]' }, 'codex').agent).toBe(
      'claude',
    );
    expect(
      chooseAgent(
        undefined,
        { ...authorship, commitMessages: ['Fix\n\nCo-Authored-By: Claude <noreply@anthropic.com>'] },
        'claude',
      ).agent,
    ).toBe('codex');
  });

  it('falls back to an earlier agent-lane comment, then to default-agent', () => {
    expect(chooseAgent(undefined, { ...authorship, laneCommentAgents: ['claude'] }, 'claude').agent).toBe('codex');
    expect(chooseAgent(undefined, authorship, 'claude')).toEqual({
      agent: 'claude',
      reason: 'default-agent (no sign of which agent wrote the PR)',
    });
  });
});

const DIFF = [
  'diff --git a/src/auth.ts b/src/auth.ts',
  'index 1..2 100644',
  '--- a/src/auth.ts',
  '+++ b/src/auth.ts',
  '@@ -10,3 +10,4 @@ export function login() {',
  '   const user = find();',
  '-  return check(user);',
  '+  if (!user) return true;',
  '+  return check(user);',
  ' }',
  'diff --git a/big.json b/big.json',
  'new file mode 100644',
  '--- /dev/null',
  '+++ b/big.json',
  '@@ -0,0 +1 @@',
  `+${'x'.repeat(500)}`,
  '',
].join('\n');

describe('diff capture', () => {
  it('splits per file and knows which new-side lines may carry a comment', () => {
    const files = splitDiff(DIFF);
    expect(files.map((f) => f.path)).toEqual(['src/auth.ts', 'big.json']);
    expect([...files[0]!.commentable]).toEqual([10, 11, 12, 13]);
  });

  it('lists files beyond the size cap as skipped', () => {
    const capture = capDiff(splitDiff(DIFF), 400);
    expect(capture.included.map((f) => f.path)).toEqual(['src/auth.ts']);
    expect(capture.skipped).toEqual([{ path: 'big.json', bytes: expect.any(Number) }]);
  });
});

describe('comparing opinions', () => {
  const codex: OpinionRecord = {
    agent: 'codex',
    sha: 'abc',
    conclusion: 'failure',
    findings: [
      { path: 'a.ts', line: 10, severity: 'failure', message: 'null deref' },
      { path: 'b.ts', line: 1, severity: 'notice', message: 'name' },
    ],
  };
  const claude: OpinionRecord = {
    agent: 'claude',
    sha: 'abc',
    conclusion: 'success',
    findings: [{ path: 'a.ts', line: 12, severity: 'warning', message: 'user may be null' }],
  };

  it('round-trips a record through the review marker', () => {
    expect(readOpinion(`${opinionMarker(codex)}\n### Second opinion`)).toEqual(codex);
    expect(readOpinion('### just a review')).toBeUndefined();
    const marker = (record: unknown) =>
      `<!-- factory:second-opinion ${Buffer.from(JSON.stringify(record)).toString('base64')} -->`;
    expect(readOpinion(marker({ ...codex, findings: 'none' }))).toBeUndefined();
    expect(readOpinion(marker({ ...codex, agent: 'gemini' }))).toBeUndefined();
  });

  it('matches findings near the same line of the same file', () => {
    expect(compareOpinions(claude, codex)).toEqual({
      other: 'codex',
      sameConclusion: false,
      agreed: [claude.findings[0]],
      onlyThis: [],
      onlyOther: [codex.findings[1]],
    });
  });
});

describe('inputs', () => {
  const raw = {
    'github-token': 'ghs_x',
    'default-agent': '',
    'allowed-bots': 'renovate[bot], dependabot[bot]',
    'pr-number': '',
    'timeout-minutes': '',
    'max-diff-kb': '',
  };

  it('fill the documented defaults', () => {
    expect(parseOpinionInputs(raw)).toEqual({
      githubToken: 'ghs_x',
      defaultAgent: 'codex',
      allowedBots: ['renovate[bot]', 'dependabot[bot]'],
      prNumber: undefined,
      timeoutMinutes: undefined,
      maxDiffBytes: 200 * 1024,
      automatic: false,
    });
    expect(parseOpinionInputs({ ...raw, automatic: 'TRUE' }).automatic).toBe(true);
    expect(() => parseOpinionInputs({ ...raw, automatic: 'yes' })).toThrow(
      'input "automatic" must be true or false, got "yes"',
    );
  });

  it('name each bad input', () => {
    expect(() => parseOpinionInputs({ ...raw, 'default-agent': 'gemini', 'pr-number': '2.5' })).toThrow(
      /^input "default-agent" must be codex or claude, got "gemini"\ninput "pr-number" must be a pull request number, got "2.5"$/,
    );
    expect(() => parseOpinionInputs({ ...raw, 'github-token': '' })).toThrow('input "github-token" is required');
  });

  it('refuse a timeout beyond a day, as agent-lane does', () => {
    expect(() => parseOpinionInputs({ ...raw, 'timeout-minutes': '40000' })).toThrow(
      'input "timeout-minutes" must be a number of minutes between 0 and 1440, got "40000"',
    );
  });
});
