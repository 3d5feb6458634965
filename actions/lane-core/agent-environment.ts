// The environment the agent's process starts with: the job's, minus what would let a prompt-injected agent act
// as the job, plus the private home. The agent gets the GitHub token only when the workflow asks for it.
import type { LaneSettings } from './lane-settings.js';

/** Variables that carry GitHub or runner credentials. */
const JOB_SECRETS =
  /^(GITHUB_TOKEN|GH_TOKEN|INPUT_.*|ACTIONS_RUNTIME_TOKEN|ACTIONS_ID_TOKEN_REQUEST_TOKEN|ACTIONS_ID_TOKEN_REQUEST_URL)$/i;

/** The runner's workflow-command files: a line appended to GITHUB_ENV or GITHUB_PATH (say NODE_OPTIONS) runs in
 * every later step of the job, including steps that hold secrets; GITHUB_OUTPUT and GITHUB_STATE forge results. */
const COMMAND_FILES = /^GITHUB_(ENV|PATH|OUTPUT|STATE|STEP_SUMMARY)$/i;

export function agentEnvironment(
  base: Record<string, string | undefined>,
  privateHome: Record<string, string>,
  settings: Pick<LaneSettings, 'agentGithubToken' | 'githubToken'>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base))
    if (v !== undefined && !JOB_SECRETS.test(k) && !COMMAND_FILES.test(k)) env[k] = v;
  Object.assign(env, privateHome);
  if (settings.agentGithubToken && settings.githubToken)
    Object.assign(env, { GH_TOKEN: settings.githubToken, GITHUB_TOKEN: settings.githubToken });
  return env;
}
