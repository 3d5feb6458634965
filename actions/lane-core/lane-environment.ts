// What the controller's lane profile tells a job about its lane, read once from the environment. The variable
// names are the contract with the lane profiles (see the README's "Lane environment" table).
import { join } from 'node:path';
import type { Agent } from './lane-settings.js';

export interface LaneEnvironment {
  /** The agent the lane was provisioned for, when the job runs on a lane at all. */
  lane?: Agent;
  profile?: string;
  codexHome: string;
  claudeConfigDir: string;
  claudeJson: string;
  mcpClaude?: string;
  mcpCodex?: string;
  /** Which of the paths above came from the lane profile rather than the home-directory fallback. */
  fromProfile: { codex: boolean; claude: boolean };
}

/** Runner labels that pick a lane, for the error a job gets when it runs anywhere else. */
export const LANE_LABELS: Record<Agent, string> = {
  codex: '[self-hosted, factory, codex]',
  claude: '[self-hosted, factory, claude]',
};

export function readLaneEnvironment(env: Record<string, string | undefined>, home: string): LaneEnvironment {
  const value = (name: string) => (env[name]?.trim() ? env[name]!.trim() : undefined);
  const lane = value('FACTORY_LANE');
  return {
    lane: lane === 'codex' || lane === 'claude' ? lane : undefined,
    profile: value('FACTORY_PROFILE'),
    codexHome: value('FACTORY_CODEX_HOME') ?? join(home, '.codex'),
    claudeConfigDir: value('FACTORY_CLAUDE_CONFIG_DIR') ?? join(home, '.claude'),
    claudeJson: value('FACTORY_CLAUDE_JSON') ?? join(home, '.claude.json'),
    mcpClaude: value('FACTORY_MCP_CLAUDE'),
    mcpCodex: value('FACTORY_MCP_CODEX'),
    fromProfile: {
      codex: value('FACTORY_CODEX_HOME') !== undefined,
      claude: value('FACTORY_CLAUDE_CONFIG_DIR') !== undefined,
    },
  };
}
