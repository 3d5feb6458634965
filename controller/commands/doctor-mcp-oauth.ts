// Hosted MCP servers that authenticate by OAuth (an http server with no tokenEnv) use the tokens claude keeps in its
// credentials file, under `mcpOAuth` (one entry per server: serverName, serverUrl, accessToken, refreshToken,
// expiresAt in ms). The lane carries them in its auth copy. Their login needs a browser, so a lane can never renew
// one that is missing or has expired: the doctor says so, and names the step on the host that does.
import type { Profile } from '../config/config.js';
import type { CheckResult } from './doctor-script.js';

interface McpOAuthEntry {
  serverName?: string;
  serverUrl?: string;
  accessToken?: string;
  expiresAt?: number;
}

const HOUR = 3600_000;

/** The host step that renews a hosted MCP login; it cannot be done from a lane. */
export const renewStep = (server: string, claudeDir: string) =>
  `on the host, as the user who owns ${claudeDir}: run \`claude\`, type /mcp, pick ${server} and authenticate in the browser (hosted MCP OAuth cannot log in headless); the next job copies the new token`;

/** One row per OAuth-authenticated http MCP server of the profile; none without a claude auth mount to carry them. */
export function mcpOAuthRows(
  profile: Profile,
  claudeDir: string,
  credentialsText: string | undefined,
  now = Date.now(),
): CheckResult[] {
  const servers = profile.mcp.flatMap((s) => ('url' in s && !s.tokenEnv ? [s] : []));
  if (servers.length === 0) return [];
  let entries: McpOAuthEntry[] = [];
  try {
    const parsed = JSON.parse(credentialsText ?? '{}') as { mcpOAuth?: Record<string, McpOAuthEntry> };
    entries = Object.values(parsed.mcpOAuth ?? {});
  } catch {
    // An unreadable file is reported by the auth row; every server below then has no token.
  }
  return servers.map((s): CheckResult => {
    const name = `mcp ${s.name} oauth token`;
    const fix = renewStep(s.name, claudeDir);
    const entry = entries.find((e) => e.serverName === s.name) ?? entries.find((e) => e.serverUrl === s.url);
    if (!entry?.accessToken)
      return { name, ok: false, detail: `no OAuth token for ${s.name} in ${claudeDir}/.credentials.json`, fix };
    if (typeof entry.expiresAt !== 'number') return { name, ok: true, detail: 'present, no expiry recorded' };
    const at = new Date(entry.expiresAt).toISOString();
    if (entry.expiresAt <= now)
      return {
        name,
        ok: false,
        detail: `expired at ${at} (${Math.floor((now - entry.expiresAt) / HOUR)}h ago); a lane cannot renew it`,
        fix,
      };
    return { name, ok: true, detail: `valid until ${at} (${Math.floor((entry.expiresAt - now) / HOUR)}h left)` };
  });
}
