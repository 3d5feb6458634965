import { describe, expect, it } from 'vitest';
import { agentCommand, type CommandInputs } from '../../actions/lane-core/agent-command.js';

const base = (over: Partial<CommandInputs['settings']>, extra: Partial<CommandInputs> = {}): CommandInputs => ({
  settings: { agent: 'codex', mode: 'review', allowedTools: [], extraArgs: [], ...over },
  workingDirectory: '/w',
  lastMessageFile: '/run/last.txt',
  ...extra,
});

describe('agent command lines', () => {
  it('codex reviews in a read-only sandbox with the prompt on stdin', () => {
    expect(agentCommand(base({ model: 'o3', effort: 'high' }))).toEqual({
      command: 'codex',
      args: [
        'exec',
        '--json',
        '--skip-git-repo-check',
        '--sandbox',
        'read-only',
        '--cd',
        '/w',
        '--output-last-message',
        '/run/last.txt',
        '--model',
        'o3',
        '--config',
        'model_reasoning_effort="high"',
        '-',
      ],
    });
  });

  it('codex builds in a workspace-write sandbox, with the answer schema and extra arguments before the stdin marker', () => {
    const { args } = agentCommand(
      base({ mode: 'build', extraArgs: ['--enable', 'x'] }, { outputSchema: { path: '/s.json', text: '{}' } }),
    );
    expect(args.slice(3, 5)).toEqual(['--sandbox', 'workspace-write']);
    expect(args.slice(-5)).toEqual(['--output-schema', '/s.json', '--enable', 'x', '-']);
  });

  it('codex in a lane container runs without its own sandbox, in either mode: the container is the sandbox', () => {
    for (const mode of ['review', 'build'] as const)
      expect(agentCommand(base({ mode }, { containerSandbox: true })).args.slice(3, 5)).toEqual([
        '--sandbox',
        'danger-full-access',
      ]);
  });

  it('claude reviews without edit tools and builds with edits accepted', () => {
    const review = agentCommand(
      base({ agent: 'claude', allowedTools: ['Bash(git diff:*)'] }, { claudeMcpConfig: '/lane/mcp.json' }),
    );
    expect(review).toEqual({
      command: 'claude',
      args: [
        '--print',
        '--output-format',
        'stream-json',
        '--verbose',
        '--permission-mode',
        'default',
        '--setting-sources',
        'user',
        '--strict-mcp-config',
        '--disallowedTools',
        'Edit,Write,NotebookEdit',
        '--allowedTools',
        'Bash(git diff:*)',
        '--mcp-config',
        '/lane/mcp.json',
      ],
      // The lane's MCP servers are connected before the first turn.
      env: { MCP_CONNECTION_NONBLOCKING: 'false' },
    });
    const build = agentCommand(
      base({ agent: 'claude', mode: 'build' }, { outputSchema: { path: '/s.json', text: '{"type":"object"}' } }),
    );
    expect(build.args).toEqual([
      '--print',
      '--output-format',
      'stream-json',
      '--verbose',
      '--permission-mode',
      'acceptEdits',
      '--json-schema',
      '{"type":"object"}',
    ]);
  });

  it('claude builds with only the MCP servers it was given: the rendered file, or none in a lane container', () => {
    const strict = (inputs: Partial<CommandInputs>) =>
      agentCommand(base({ agent: 'claude', mode: 'build' }, inputs)).args.includes('--strict-mcp-config');
    expect(strict({ claudeMcpConfig: '/factory/mcp/claude.json' })).toBe(true);
    expect(strict({ containerSandbox: true })).toBe(true);
    // Outside a lane, with no config given, the user's own claude setup is theirs to use.
    expect(strict({})).toBe(false);
    const args = agentCommand(
      base({ agent: 'claude', mode: 'build' }, { claudeMcpConfig: '/factory/mcp/claude.json', containerSandbox: true }),
    ).args;
    expect(args.filter((a) => a === '--strict-mcp-config')).toHaveLength(1);
    expect(args).not.toContain('--disallowedTools');
  });
});
