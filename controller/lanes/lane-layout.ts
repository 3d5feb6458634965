// Where a lane's connections appear inside its container, and the variables that tell the action suite so. This is
// the lane environment contract shared with actions/lane-core/lane-environment.ts: change both or neither.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Config, Mount, Profile } from '../config/config.js';
import { toHostPath } from './host-path-map.js';

export const IN_CONTAINER = {
  codexHome: '/factory/auth/codex',
  claudeConfigDir: '/factory/auth/claude',
  claudeJson: '/factory/auth/claude/.claude.json',
  mcpDir: '/factory/mcp',
  mcpClaude: '/factory/mcp/claude.json',
  mcpCodex: '/factory/mcp/codex.toml',
} as const;

/** The files of an agent's home that a lane needs; only `credential` ones are ever written back to the host. */
export const AUTH_FILES = {
  codex: [{ name: 'auth.json', credential: true }, { name: 'config.toml', credential: false }],
  claude: [{ name: '.credentials.json', credential: true }, { name: 'settings.json', credential: false }],
} as const;

/** The per-job folder on the controller's side: private auth copies and rendered MCP files. */
export const jobDir = (config: Config, runnerName: string) => join(config.stateDir, 'jobs', runnerName);

/** A volume per repo and profile, with a hash suffix so `a/b-c` and `a-b/c` never share one (seed 004). */
export function workspaceVolume(repo: string, profileName: string): string {
  const slug = `${repo}-${profileName}`.toLowerCase().replace(/[^a-z0-9_.-]+/g, '-').slice(0, 48);
  const hash = createHash('sha256').update(`${repo.toLowerCase()}\0${profileName}`).digest('hex').slice(0, 8);
  return `factory-ws-${slug}-${hash}`;
}

/** Jobs that share this key run one at a time: a token refresh in one strands every other copy. */
export function credentialKey(profile: Profile): string | undefined {
  if (profile.credential) return profile.credential;
  const sources = profile.mounts.filter((m) => m.kind === 'auth').map((m) => m.source).sort();
  return sources.length > 0 ? `auth:${sources.join(',')}` : undefined;
}

export interface DockerMount { Type: 'bind' | 'volume'; Source: string; Target: string; ReadOnly?: boolean }

/** Docker mounts and contract variables for a profile's job; bind sources are translated to the host's view. */
export function laneMounts(config: Config, profileName: string, profile: Profile, repo: string, runnerName: string) {
  const dir = jobDir(config, runnerName);
  const host = (path: string) => toHostPath(path, config.hostPathMap);
  const mounts: DockerMount[] = [];
  const env: Record<string, string> = { FACTORY_PROFILE: profileName };
  if (profile.lane) env.FACTORY_LANE = profile.lane;
  for (const m of profile.mounts) mounts.push(...mountFor(m, { dir, host, repo, profileName, env }));
  if (profile.mcp.length > 0) {
    mounts.push({ Type: 'bind', Source: host(join(dir, 'mcp')), Target: IN_CONTAINER.mcpDir, ReadOnly: true });
    Object.assign(env, { FACTORY_MCP_CLAUDE: IN_CONTAINER.mcpClaude, FACTORY_MCP_CODEX: IN_CONTAINER.mcpCodex });
  }
  return { mounts, env };
}

function mountFor(m: Mount, ctx: { dir: string; host: (p: string) => string; repo: string; profileName: string; env: Record<string, string> }): DockerMount[] {
  switch (m.kind) {
    case 'auth':
      if (m.agent === 'codex') {
        ctx.env.FACTORY_CODEX_HOME = IN_CONTAINER.codexHome;
        return [{ Type: 'bind', Source: ctx.host(join(ctx.dir, 'auth', 'codex')), Target: IN_CONTAINER.codexHome }];
      }
      ctx.env.FACTORY_CLAUDE_CONFIG_DIR = IN_CONTAINER.claudeConfigDir;
      if (m.claudeJson) ctx.env.FACTORY_CLAUDE_JSON = IN_CONTAINER.claudeJson;
      return [{ Type: 'bind', Source: ctx.host(join(ctx.dir, 'auth', 'claude')), Target: IN_CONTAINER.claudeConfigDir }];
    case 'secrets':
    case 'data':
      return [{ Type: 'bind', Source: ctx.host(m.source), Target: m.target, ReadOnly: true }];
    case 'workspace':
      return [{ Type: 'volume', Source: workspaceVolume(ctx.repo, ctx.profileName), Target: m.target }];
    case 'bind':
      return [{ Type: 'bind', Source: ctx.host(m.source), Target: m.target, ReadOnly: m.mode === 'ro' }];
  }
}
