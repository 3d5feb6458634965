import { describe, expect, it } from 'vitest';
import { actorRefusal, type Actor } from '../../actions/agent-lane/src/actor-check.js';
import { parseLaneReportInputs, type ActorPolicy } from '../../actions/agent-lane/src/lane-inputs.js';
import { agentCommand } from '../../actions/lane-core/agent-command.js';
import { parseCliVersion } from '../../actions/lane-core/cli-version.js';
import { codexConfigOverrides } from '../../actions/lane-core/codex-config.js';

const policy = (over: Partial<ActorPolicy> = {}): ActorPolicy => ({
  mode: 'auto',
  allowedBots: [],
  allowUsers: [],
  ...over,
});
const person = (login: string): Actor => ({ login, isBot: false });
const roles: Record<string, string> = { maintainer: 'maintain', writer: 'write', reader: 'read', stranger: 'none' };
const lookup = async (login: string) => roles[login] ?? 'none';

describe('actor check', () => {
  it.each([
    ['maintainer', undefined],
    ['writer', undefined],
    ['reader', 'reader has read access'],
    ['stranger', 'stranger has none access'],
  ])('on a pull_request event, %s is %s', async (login, refusal) => {
    const result = await actorRefusal('pull_request', person(login), policy(), lookup);
    if (refusal === undefined) expect(result).toBeUndefined();
    else expect(result).toContain(refusal);
  });

  it('workflow_dispatch and schedule are not checked by default, and are with check-actor: true', async () => {
    expect(await actorRefusal('workflow_dispatch', person('reader'), policy(), lookup)).toBeUndefined();
    expect(await actorRefusal('schedule', person('reader'), policy(), lookup)).toBeUndefined();
    expect(await actorRefusal('workflow_dispatch', person('reader'), policy({ mode: 'always' }), lookup)).toContain(
      'read access',
    );
  });

  it('allow-users admits listed people (case-insensitively) or everyone with *, and check-actor: false admits all', async () => {
    expect(
      await actorRefusal('issue_comment', person('Reader'), policy({ allowUsers: ['reader'] }), lookup),
    ).toBeUndefined();
    expect(
      await actorRefusal('issue_comment', person('stranger'), policy({ allowUsers: ['*'] }), lookup),
    ).toBeUndefined();
    expect(await actorRefusal('issue_comment', person('stranger'), policy({ mode: 'never' }), lookup)).toBeUndefined();
  });

  it('a bot needs allowed-bots, by login or name, and is never admitted by a permission lookup', async () => {
    const bot: Actor = { login: 'renovate[bot]', isBot: true };
    const asked: string[] = [];
    const spy = async (login: string) => (asked.push(login), 'write');
    expect(await actorRefusal('pull_request', bot, policy(), spy)).toContain('allowed-bots');
    expect(await actorRefusal('pull_request', bot, policy({ allowedBots: ['renovate'] }), spy)).toBeUndefined();
    expect(await actorRefusal('pull_request', bot, policy({ allowedBots: ['renovate[bot]'] }), spy)).toBeUndefined();
    expect(asked).toEqual([]);
  });

  it('an event without an actor is refused when the check is on', async () => {
    expect(await actorRefusal('pull_request', person(''), policy(), lookup)).toContain('names no actor');
  });
});

describe('agent-lane inputs', () => {
  it('default the comment key and check name per agent, and take the given ones', () => {
    expect(parseLaneReportInputs({}, 'codex')).toMatchObject({
      commentKey: 'agent-lane:codex',
      checkName: 'agent-lane / codex',
      actor: { mode: 'auto' },
    });
    expect(
      parseLaneReportInputs(
        { 'comment-key': 'security', 'check-name': 'security review', 'check-actor': 'false', 'allowed-bots': 'a, B' },
        'claude',
      ),
    ).toMatchObject({
      commentKey: 'security',
      checkName: 'security review',
      actor: { mode: 'never', allowedBots: ['a', 'b'] },
    });
  });

  it('refuse a comment key that would close its HTML comment and an unknown check-actor, naming each input', () => {
    expect(() => parseLaneReportInputs({ 'comment-key': 'x --> y', 'check-actor': 'maybe' }, 'codex')).toThrow(
      'input "comment-key" must not contain "-->" or a newline (it goes in an HTML comment)\ninput "check-actor" must be auto, true or false, got "maybe"',
    );
  });
});

describe('settings', () => {
  it('a codex config fragment becomes --config overrides, tables prefixed', () => {
    expect(
      codexConfigOverrides(
        '# tuned for reviews\nmodel = "o3"\n\n[tools]\nweb_search = true\n[mcp_servers.docs]\nargs = ["-y", "docs"]\n',
      ),
    ).toEqual(['model="o3"', 'tools.web_search=true', 'mcp_servers.docs.args=["-y", "docs"]']);
  });

  it('a fragment cannot change the sandbox or approvals that mode sets, and says which line is wrong', () => {
    expect(() => codexConfigOverrides('model = "o3"\nsandbox_mode = "danger-full-access"')).toThrow(
      'line 2: sandbox_mode is set by the mode input, not by settings',
    );
    expect(() => codexConfigOverrides('[sandbox_workspace_write]\nnetwork_access = true')).toThrow(
      'line 2: sandbox_workspace_write.network_access is set by the mode input',
    );
    expect(() => codexConfigOverrides('args = [\n  "x",\n]')).toThrow('line 1: a value must fit on one line');
    expect(() => codexConfigOverrides('just words')).toThrow(
      'line 1: expected "key = value" or a [table] header, got "just words"',
    );
  });

  it('claude gets --settings as given; codex gets the overrides before the stdin marker, and a bad fragment names the input', () => {
    const common = { mode: 'review' as const, allowedTools: [], extraArgs: [] };
    const claude = agentCommand({
      settings: { ...common, agent: 'claude', cliSettings: '{"env":{"A":"1"}}' },
      workingDirectory: '/w',
      lastMessageFile: '/l',
    });
    expect(claude.args.slice(-2)).toEqual(['--settings', '{"env":{"A":"1"}}']);
    const codex = agentCommand({
      settings: { ...common, agent: 'codex', cliSettings: 'model = "o3"' },
      workingDirectory: '/w',
      lastMessageFile: '/l',
    });
    expect(codex.args.slice(-3)).toEqual(['--config', 'model="o3"', '-']);
    expect(() =>
      agentCommand({
        settings: { ...common, agent: 'codex', cliSettings: 'approval_policy = "never"' },
        workingDirectory: '/w',
        lastMessageFile: '/l',
      }),
    ).toThrow('input "settings": line 1: approval_policy is set by the mode input, not by settings');
  });
});

describe('cli version', () => {
  it("reads the bare version from each CLI's --version line", () => {
    expect(parseCliVersion('2.1.197 (Claude Code)\n')).toBe('2.1.197');
    expect(parseCliVersion('codex-cli 0.169.0\n')).toBe('0.169.0');
    expect(parseCliVersion('no version here')).toBeUndefined();
  });
});
