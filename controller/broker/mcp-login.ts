// A hosted MCP server's OAuth login as the host's claude keeps it in `.credentials.json`, under
// `mcpOAuth[claudeMcpOAuthKey(name, url)]`: read, and merged back after a refresh with every other field (of the entry
// and of the file) as it was. Pure: the refresher (mcp-login-refresher.ts) reads and writes the file.
import type { TokenAnswer } from './oauth-token-server.js';

export interface McpLoginEntry {
  serverName?: string;
  serverUrl: string;
  accessToken: string;
  refreshToken?: string;
  /** Milliseconds since the epoch; absent when the server gave no lifetime. */
  expiresAt?: number;
  clientId?: string;
  clientSecret?: string;
  scope?: string;
  discoveryState?: { authorizationServerUrl?: string; resourceMetadataUrl?: string };
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);

/** The entry under `key`, or undefined when the file, the entry or its access token is missing (claude blanks a
 * login it gave up on: an empty access token is no login). */
export function mcpLoginEntry(credentialsText: string | undefined, key: string): McpLoginEntry | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(credentialsText ?? '');
  } catch {
    return undefined;
  }
  const entry = isObject(parsed) && isObject(parsed.mcpOAuth) ? parsed.mcpOAuth[key] : undefined;
  if (!isObject(entry) || !str(entry.accessToken) || !str(entry.serverUrl)) return undefined;
  const discovery = isObject(entry.discoveryState) ? entry.discoveryState : {};
  return {
    serverName: str(entry.serverName),
    serverUrl: entry.serverUrl as string,
    accessToken: entry.accessToken as string,
    refreshToken: str(entry.refreshToken),
    expiresAt: typeof entry.expiresAt === 'number' ? entry.expiresAt : undefined,
    clientId: str(entry.clientId),
    clientSecret: typeof entry.clientSecret === 'string' ? entry.clientSecret : undefined,
    scope: str(entry.scope),
    discoveryState: {
      authorizationServerUrl: str(discovery.authorizationServerUrl),
      resourceMetadataUrl: str(discovery.resourceMetadataUrl),
    },
  };
}

/**
 * The credentials file with the entry under `key` refreshed: the new access token, the rotated refresh token (or the
 * old one when the server kept it), the new expiry (none when the server gave no lifetime) and scope; every other
 * field of the entry and of the file as they are.
 */
export function mergedMcpLogin(credentialsText: string, key: string, tokens: TokenAnswer, now: number): string {
  const host = JSON.parse(credentialsText) as Json;
  const all = isObject(host.mcpOAuth) ? host.mcpOAuth : {};
  const { expiresAt: _old, ...entry } = isObject(all[key]) ? all[key] : {};
  return JSON.stringify({
    ...host,
    mcpOAuth: {
      ...all,
      [key]: {
        ...entry,
        accessToken: tokens.access_token,
        refreshToken: tokens.refresh_token ?? entry.refreshToken,
        ...(tokens.expires_in !== undefined ? { expiresAt: now + tokens.expires_in * 1000 } : {}),
        ...(tokens.scope !== undefined ? { scope: tokens.scope } : {}),
      },
    },
  });
}

/** What the operator does about a login the host lacks or a provider refused: only a browser logs in. */
export const mcpLoginFix = (server: string, again = false) =>
  `log in to ${server}${again ? ' again' : ''} with the host's claude: claude → /mcp`;
