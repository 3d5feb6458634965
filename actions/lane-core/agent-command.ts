// The argv for each CLI, from settings alone. The prompt always travels on stdin, so no text from a PR ever
// becomes part of a command line. `mode` maps to each CLI's own guard: codex's sandbox, claude's permissions.
import { codexConfigOverrides } from './codex-config.js';
import type { Budget } from './lane-budget.js';
import type { LaneSettings } from './lane-settings.js';

export interface CommandInputs {
  settings: Pick<LaneSettings, 'agent' | 'mode' | 'model' | 'effort' | 'allowedTools' | 'extraArgs' | 'cliSettings'>;
  workingDirectory: string;
  /** Resolved MCP config for claude (codex's is merged into its config.toml instead). */
  claudeMcpConfig?: string;
  /** JSON schema file path and text, when the answer must validate. */
  outputSchema?: { path: string; text: string };
  /** Where codex writes its last message: the answer even when the event stream is cut short. */
  lastMessageFile: string;
  /** The job runs in a lane container, which is the sandbox (docs/lane-isolation.md): codex runs without its own. */
  containerSandbox?: boolean;
  /** claude stops itself at its turn and cost budgets and still reports its usage; codex takes neither. */
  budget?: Budget;
}

export interface AgentCommand {
  command: string;
  args: string[];
  /** Defaults for the agent's environment; the job's own values win. */
  env?: Record<string, string>;
}

/** Tools that change files; a review must not have them even if a settings file elsewhere allows them. */
const EDIT_TOOLS = ['Edit', 'Write', 'NotebookEdit'];

export function agentCommand(i: CommandInputs): AgentCommand {
  const { settings: s } = i;
  if (s.agent === 'codex') {
    // codex's own sandbox on Linux is bubblewrap, which cannot create namespaces inside a container: every shell
    // command would fail there. In a lane the container and the agent user bound it instead.
    const sandbox = i.containerSandbox ? 'danger-full-access' : s.mode === 'review' ? 'read-only' : 'workspace-write';
    const args = ['exec', '--json', '--skip-git-repo-check', '--sandbox', sandbox];
    args.push('--cd', i.workingDirectory, '--output-last-message', i.lastMessageFile);
    if (s.model) args.push('--model', s.model);
    if (s.effort) args.push('--config', `model_reasoning_effort="${s.effort}"`);
    if (i.outputSchema) args.push('--output-schema', i.outputSchema.path);
    if (s.cliSettings) args.push(...codexSettings(s.cliSettings).flatMap((o) => ['--config', o]));
    return { command: 'codex', args: [...args, ...s.extraArgs, '-'] };
  }
  const args = ['--print', '--output-format', 'stream-json', '--verbose'];
  args.push('--permission-mode', s.mode === 'review' ? 'default' : 'acceptEdits');
  // A review's checkout is the PR's: its .claude/settings.json (hooks run shell commands) and .mcp.json (servers are
  // commands too) are the author's. Settings come from the lane's own config dir, MCP servers from the lane only.
  if (s.mode === 'review') args.push('--setting-sources', 'user');
  // A build's MCP servers are the ones it was given too: the claude.json a lane carries from the host lists the host's
  // servers with host paths and tokens, which in the container would start as broken duplicates of the rendered ones.
  if (s.mode === 'review' || i.claudeMcpConfig || i.containerSandbox) args.push('--strict-mcp-config');
  if (s.mode === 'review') args.push('--disallowedTools', EDIT_TOOLS.join(','));
  if (s.allowedTools.length) args.push('--allowedTools', s.allowedTools.join(','));
  if (s.model) args.push('--model', s.model);
  if (i.budget?.turns !== undefined) args.push('--max-turns', String(i.budget.turns));
  if (i.budget?.costUsd !== undefined) args.push('--max-budget-usd', String(i.budget.costUsd));
  if (i.claudeMcpConfig) args.push('--mcp-config', i.claudeMcpConfig);
  if (i.outputSchema) args.push('--json-schema', i.outputSchema.text);
  // claude takes a file path or the JSON itself; --permission-mode and --disallowedTools above still bound a review.
  if (s.cliSettings) args.push('--settings', s.cliSettings);
  // claude's print mode starts the first turn while MCP servers still connect, and a tool called then is "not
  // available": the lane's servers are its work, so it waits for them (each bounded by MCP_TIMEOUT).
  const env = i.claudeMcpConfig ? { MCP_CONNECTION_NONBLOCKING: 'false' } : undefined;
  return { command: 'claude', args: [...args, ...s.extraArgs], ...(env ? { env } : {}) };
}

function codexSettings(fragment: string): string[] {
  try {
    return codexConfigOverrides(fragment);
  } catch (err) {
    throw new Error(`input "settings": ${(err as Error).message}`);
  }
}
