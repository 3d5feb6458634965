// What the controller's lane profile tells a job about its lane, read once from the environment by the lane
// contract's variable names (lane-contract/lane-variables.ts; the lane environment contract table in docs/lanes.md).
import { join } from 'node:path';
import { AGENTS, type Agent } from '../../lane-contract/agents.js';
import { CLAUDE_JSON } from '../../lane-contract/auth-files.js';
import { LANE_VARIABLES as V } from '../../lane-contract/lane-variables.js';

export { LANE_LABELS } from '../../lane-contract/agents.js';

export interface LaneEnvironment {
  /** The agent the lane was provisioned for, when the job runs on a lane at all. */
  lane?: Agent;
  profile?: string;
  codexHome: string;
  claudeConfigDir: string;
  claudeJson: string;
  mcpClaude?: string;
  mcpCodex?: string;
  /** The controller started this job's container: it is the sandbox, and the agent runs without its own. */
  containerSandbox: boolean;
  /** Behind egress: where the job's gateway lists what it refused. */
  egressReport?: string;
  /** Which of the paths above came from the lane profile rather than the home-directory fallback. */
  fromProfile: { codex: boolean; claude: boolean };
}

export function readLaneEnvironment(env: Record<string, string | undefined>, home: string): LaneEnvironment {
  const value = (name: string) => (env[name]?.trim() ? env[name]!.trim() : undefined);
  const lane = value(V.lane);
  return {
    lane: (AGENTS as readonly string[]).includes(lane ?? '') ? (lane as Agent) : undefined,
    profile: value(V.profile),
    codexHome: value(V.codexHome) ?? join(home, '.codex'),
    claudeConfigDir: value(V.claudeConfigDir) ?? join(home, '.claude'),
    claudeJson: value(V.claudeJson) ?? join(home, CLAUDE_JSON),
    mcpClaude: value(V.mcpClaude),
    mcpCodex: value(V.mcpCodex),
    containerSandbox: value(V.sandbox) === 'container',
    egressReport: value(V.egressReport),
    fromProfile: {
      codex: value(V.codexHome) !== undefined,
      claude: value(V.claudeConfigDir) !== undefined,
    },
  };
}
