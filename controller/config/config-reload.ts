// Which settings a running controller can take from an edited config, and which need a restart.
import { isDeepStrictEqual } from 'node:util';
import type { Config } from './config.js';

// The webhook listener, the GitHub client, the Docker connection and the paths running jobs' folders live under
// are built once at start; changing them under running jobs would strand their containers or credentials.
const RESTART_ONLY = ['github', 'backend', 'docker', 'instance', 'stateDir', 'hostPathMap', 'status'] as const;

/** The top-level keys that differ and cannot be applied live; empty when the whole change applies. */
export function restartOnlyChanges(current: Config, next: Config): string[] {
  return RESTART_ONLY.filter((key) => !isDeepStrictEqual(current[key], next[key]));
}
