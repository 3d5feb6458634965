// The lane environment contract: where the controller mounts a lane's connections inside its container, and the
// variables that tell the action suite so. The controller writes these; the actions read them.
export const LANE_VARIABLES = {
  lane: 'FACTORY_LANE',
  profile: 'FACTORY_PROFILE',
  codexHome: 'FACTORY_CODEX_HOME',
  claudeConfigDir: 'FACTORY_CLAUDE_CONFIG_DIR',
  claudeJson: 'FACTORY_CLAUDE_JSON',
  mcpClaude: 'FACTORY_MCP_CLAUDE',
  mcpCodex: 'FACTORY_MCP_CODEX',
  /** Comma list of variables whose values are secret (env-file keys, MCP token variables), for masking. */
  secretVars: 'FACTORY_SECRET_VARS',
  /** Comma list of the secrets folders mounted in the container, for masking what they hold. */
  secretDirs: 'FACTORY_SECRET_DIRS',
  /**
   * `container` in every container the controller starts: the container (and the agent user) is the sandbox, so the
   * agent runs without its own, which cannot work there (codex's bubblewrap cannot create namespaces in a container).
   */
  sandbox: 'FACTORY_SANDBOX',
  /** `uid:gid` of the user the agent runs as, apart from the runner's (docs/lane-isolation.md). */
  agentUser: 'FACTORY_AGENT_USER',
  /** The helper that switches to that user: util-linux setpriv with cap_setuid,cap_setgid, runnable by the runner only. */
  agentExec: 'FACTORY_AGENT_EXEC',
  /** The folder where the controller releases the lane's credentials once GitHub's assignment is verified. */
  releaseDir: 'FACTORY_RELEASE_DIR',
  /** The profile's budget (`budget:` in the config): ceilings the action's inputs may lower, never raise. */
  budgetMinutes: 'FACTORY_BUDGET_MINUTES',
  budgetTurns: 'FACTORY_BUDGET_TURNS',
  budgetTokens: 'FACTORY_BUDGET_TOKENS',
  budgetCostUsd: 'FACTORY_BUDGET_COST_USD',
  /** Behind egress: the URL where the job's gateway lists what it refused (lane-contract/egress-refusals.ts). */
  egressReport: 'FACTORY_EGRESS_REPORT',
} as const;

export const IN_CONTAINER = {
  codexHome: '/factory/auth/codex',
  claudeConfigDir: '/factory/auth/claude',
  claudeJson: '/factory/auth/claude/.claude.json',
  mcpDir: '/factory/mcp',
  mcpClaude: '/factory/mcp/claude.json',
  mcpCodex: '/factory/mcp/codex.toml',
  /** Where a lane image with an agent user keeps the switching helper. */
  agentExec: '/usr/local/libexec/factory/agent-exec',
  /** Read-only in the container; empty until the release (lane-contract/release-files.ts). */
  releaseDir: '/factory/release',
} as const;
