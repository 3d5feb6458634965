// Where each MCP server's credential comes from, said once for validate, doctor and the docs: a static token from the
// env files, the OAuth login claude keeps for a hosted server (carried in the lane's claude auth copy, or added by a
// brokered job's broker), the host's gh login (added by a brokered job's broker), or none.
import { brokerFallback } from './broker-gate.js';
import type { McpServer, Profile } from './config-schema.js';
import type { Refuse } from './trust-gate.js';

/** One line per server for `factory doctor`: what it is and where its credential comes from. */
export function mcpCredentialSource(s: McpServer, brokered = false): string {
  if ('command' in s) return `stdio, runs in the lane: what its env and the lane's mounts give it`;
  const broker = brokered ? ", added by the job's broker (the job holds a placeholder)" : '';
  switch (s.credential) {
    case 'token':
      return `http, static token from $${s.tokenEnv} (env files)${broker}`;
    case 'oauth':
      return brokered
        ? `http, claude's OAuth login for ${s.name} in the host's claude credentials${broker}, refreshed on the host`
        : `http, claude's OAuth login for ${s.name}, carried in the claude auth copy`;
    case 'gh':
      return `http, the host's gh login, added by the job's broker`;
    case 'none':
      return `http, no credential`;
  }
}

/**
 * An `oauth` server is reached with claude's own login for it: the profile must carry a claude login. A `gh` server is
 * reached with the host's gh login, which only a brokered job's broker adds (the job holds a placeholder): the profile
 * must carry a gh login and be brokered; a copy profile's job would need the token itself.
 */
export function refuseOrphanMcpLogin(name: string, p: Profile, refuse: Refuse): void {
  const claudeLogin = p.mounts.some((m) => m.kind === 'auth' && m.agent === 'claude');
  const ghLogin = p.mounts.some((m) => m.kind === 'gh');
  const unbrokered = brokerFallback(p);
  p.mcp.forEach((s, i) => {
    if ('url' in s && s.credential === 'gh' && !ghLogin)
      refuse(
        ['mcp', i, 'credential'],
        `credential gh is the host's gh login, and profile "${name}" has no gh mount to carry it: add { kind: gh, source: ... }`,
      );
    else if ('url' in s && s.credential === 'gh' && unbrokered)
      refuse(
        ['mcp', i, 'credential'],
        `credential gh is added by the job's broker, and profile "${name}" is not brokered (${unbrokered}): use auth: broker, or credential: token with a token of its own`,
      );
    if ('url' in s && s.credential === 'oauth' && !claudeLogin)
      refuse(
        ['mcp', i, 'credential'],
        `credential oauth is the login claude keeps for ${s.name} in the host's claude credentials, and profile "${name}" has no claude auth mount to carry it: add { kind: auth, agent: claude, ... } or use credential: token`,
      );
  });
}
