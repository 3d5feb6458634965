// Hosted MCP servers with `credential: oauth` use the tokens claude keeps in its credentials file, under `mcpOAuth`
// (one entry per server, keyed by its name and a hash of its URL: serverName, serverUrl, accessToken, refreshToken,
// expiresAt in ms). A copied lane carries them in its auth copy and can never renew one that has expired; a brokered
// lane holds none, and its broker refreshes an expired one on the host with its refresh token. Only a browser logs in,
// so a login that is missing, or expired without a refresh token, needs the step on the host the doctor names.
import { brokerFallback } from '../config/broker-gate.js';
import type { Profile } from '../config/config.js';
import { claudeMcpOAuthKey } from '../lanes/mcp-render.js';
import type { CheckResult } from './doctor-script.js';

interface McpOAuthEntry {
  serverName?: string;
  serverUrl?: string;
  accessToken?: string;
  refreshToken?: string;
  expiresAt?: number;
}

const HOUR = 3600_000;

/** The host step that renews a hosted MCP login; it cannot be done from a lane. */
export const renewStep = (server: string, claudeDir: string, brokered = false) =>
  `on the host, as the user who owns ${claudeDir}: run \`claude\`, type /mcp, pick ${server} and authenticate in the browser (hosted MCP OAuth cannot log in headless); ${brokered ? "the jobs' brokers send the new login from their next request" : 'the next job copies the new token'}`;

/** One row per OAuth-authenticated http MCP server of the profile; none without a claude auth mount to carry them. */
export function mcpOAuthRows(
  profile: Profile,
  claudeDir: string,
  credentialsText: string | undefined,
  now = Date.now(),
): CheckResult[] {
  const servers = profile.mcp.flatMap((s) => ('url' in s && s.credential === 'oauth' ? [s] : []));
  if (servers.length === 0) return [];
  // Brokered: the job's broker adds the login and refreshes it on the host (controller/broker/mcp-login-refresher.ts).
  const brokered = brokerFallback(profile) === undefined;
  let logins: Record<string, McpOAuthEntry> = {};
  try {
    const parsed = JSON.parse(credentialsText ?? '{}') as { mcpOAuth?: Record<string, McpOAuthEntry> };
    logins = parsed.mcpOAuth ?? {};
  } catch {
    // An unreadable file is reported by the auth row; every server below then has no token.
  }
  return servers.map((s): CheckResult => {
    const name = `mcp ${s.name} oauth token`;
    const fix = renewStep(s.name, claudeDir, brokered);
    // claude looks its login up by this key alone: a login for the same name under another URL is not found.
    const entry = logins[claudeMcpOAuthKey(s.name, s.url)];
    const other = Object.values(logins).find((e) => e.serverName === s.name);
    if (!entry?.accessToken && other?.accessToken)
      return {
        name,
        ok: false,
        detail: `the host's OAuth login for ${s.name} is for ${other.serverUrl ?? 'another URL'}, not ${s.url}`,
        fix: `give mcp ${s.name} the URL the host's claude uses for it (claude mcp get ${s.name}), or ${fix}`,
      };
    if (!entry?.accessToken)
      return { name, ok: false, detail: `no OAuth token for ${s.name} in ${claudeDir}/.credentials.json`, fix };
    if (typeof entry.expiresAt !== 'number') return { name, ok: true, detail: 'present, no expiry recorded' };
    const at = new Date(entry.expiresAt).toISOString();
    const refreshable = brokered && typeof entry.refreshToken === 'string' && entry.refreshToken !== '';
    if (entry.expiresAt <= now) {
      const ago = `expired at ${at} (${Math.floor((now - entry.expiresAt) / HOUR)}h ago)`;
      if (refreshable)
        return { name, ok: true, detail: `${ago}; the broker refreshes it on the host at its next request` };
      const why = brokered ? 'holds no refresh token, so the broker cannot refresh it' : 'a lane cannot renew it';
      return { name, ok: false, detail: `${ago}; ${why}`, fix };
    }
    const left = `valid until ${at} (${Math.floor((entry.expiresAt - now) / HOUR)}h left)`;
    if (brokered && !refreshable)
      return { name, ok: true, detail: `${left}; no refresh token: once it expires, log in to ${s.name} again` };
    return { name, ok: true, detail: brokered ? `${left}; the broker refreshes it on the host` : left };
  });
}
