// The files of an agent's home a lane carries. Only `credential` files are ever written back to where they came
// from; the others are copied for the CLI and dropped with the job.
import type { Agent } from './agents.js';

export interface AuthFile {
  name: string;
  credential: boolean;
}

export const AUTH_FILES: Record<Agent, readonly AuthFile[]> = {
  codex: [
    { name: 'auth.json', credential: true },
    { name: 'config.toml', credential: false },
    { name: 'AGENTS.md', credential: false },
  ],
  claude: [
    { name: '.credentials.json', credential: true },
    { name: 'settings.json', credential: false },
  ],
};

/** claude's global state file; with CLAUDE_CONFIG_DIR set, claude reads it from inside that directory. */
export const CLAUDE_JSON = '.claude.json';
