// The lane's MCP servers, rendered from the profile's neutral form into what each agent reads: claude's
// `--mcp-config` JSON and codex's `[mcp_servers.NAME]` tables. Tokens stay in the environment: the files name the
// variable, never the value. A brokered profile's token and oauth servers are rendered at its broker instead, with the
// job's placeholder as their bearer: the broker adds the real token or the host's login (controller/broker/).
import { createHash } from 'node:crypto';
import type { McpServer, Profile } from '../config/config.js';

/**
 * Where a brokered server's entry points until the launch knows the job's broker address (JobBrokers.grant writes it
 * in; a launch that cannot fails): a name that resolves nowhere, so an unfinished file reaches no server at all.
 */
export const BROKER_URL_MARK = 'http://factory-broker.invalid';
/** The released variable that holds a brokered job's placeholder, the bearer its brokered MCP entries send. */
export const MCP_BROKER_TOKEN_ENV = 'FACTORY_MCP_BROKER_TOKEN';

type HttpMcp = Extract<McpServer, { url: string }>;
/**
 * An http server whose credential a brokered job's broker adds: a static token from the env files (`token`: the job
 * holds neither the token nor its variable), the OAuth login the host's claude keeps for it (`oauth`: the job's
 * credentials file carries no `mcpOAuth`), or the host's gh login (`gh`).
 */
export type BrokeredMcp = HttpMcp &
  ({ credential: 'token'; tokenEnv: string } | { credential: 'oauth' } | { credential: 'gh' });

/**
 * The servers a brokered profile's broker serves: its http ones with `credential: token`, `oauth` or `gh` (validate
 * refuses an `oauth` server on a profile without the claude login that holds it).
 */
export function brokeredMcpServers(profile: Pick<Profile, 'mcp'>): BrokeredMcp[] {
  return profile.mcp.flatMap((s): BrokeredMcp[] => {
    if (!('url' in s)) return [];
    if (s.credential === 'token' && s.tokenEnv) return [{ ...s, credential: 'token', tokenEnv: s.tokenEnv }];
    if (s.credential === 'oauth' || s.credential === 'gh') return [{ ...s, credential: s.credential }];
    return [];
  });
}

/**
 * The url and bearer variable an http entry gets: its own, or for a token, oauth or gh server of a brokered job the
 * broker's and the placeholder's (the servers brokeredMcpServers lists).
 */
function httpTarget(s: HttpMcp, brokered: boolean) {
  if (brokered && (s.credential === 'token' || s.credential === 'oauth' || s.credential === 'gh'))
    return { url: `${BROKER_URL_MARK}/mcp/${s.name}`, tokenEnv: MCP_BROKER_TOKEN_ENV };
  return { url: s.url, tokenEnv: s.credential === 'token' ? s.tokenEnv : undefined };
}

/**
 * The key under which claude keeps a hosted server's OAuth login (`mcpOAuth` in .credentials.json): the server's name
 * and a hash of its transport, URL and headers. A copied lane's rendered entry for an `oauth` server is that of
 * `claude mcp add --transport http NAME URL` on the host (no headers), so the login the host made is the one found;
 * a brokered job's broker looks the login up on the host by the same key.
 */
export function claudeMcpOAuthKey(name: string, url: string): string {
  const hash = createHash('sha256')
    .update(JSON.stringify({ type: 'http', url, headers: {} }))
    .digest('hex');
  return `${name}|${hash.slice(0, 16)}`;
}

/** `brokered`: the job reaches its token and oauth servers through its broker (the launch decides it). */
export function renderClaudeMcp(servers: readonly McpServer[], brokered = false): string {
  const mcpServers: Record<string, unknown> = {};
  for (const s of servers) {
    if ('command' in s) {
      mcpServers[s.name] = { type: 'stdio', command: s.command, args: s.args, env: s.env };
      continue;
    }
    const { url, tokenEnv } = httpTarget(s, brokered);
    mcpServers[s.name] = {
      type: 'http',
      url,
      ...(tokenEnv ? { headers: { Authorization: `Bearer \${${tokenEnv}}` } } : {}),
    };
  }
  return JSON.stringify({ mcpServers }, null, 2) + '\n';
}

const tomlString = (s: string) => JSON.stringify(s); // TOML basic strings share JSON's escapes for these characters
const tomlArray = (a: readonly string[]) => `[${a.map(tomlString).join(', ')}]`;

export function renderCodexMcp(servers: readonly McpServer[], brokered = false): string {
  const tables = servers.map((s) => {
    const lines = [`[mcp_servers.${s.name}]`];
    if ('command' in s) {
      lines.push(`command = ${tomlString(s.command)}`, `args = ${tomlArray(s.args)}`);
      const env = Object.entries(s.env);
      if (env.length > 0) lines.push(`env = { ${env.map(([k, v]) => `${k} = ${tomlString(v)}`).join(', ')} }`);
    } else {
      const { url, tokenEnv } = httpTarget(s, brokered);
      lines.push(`url = ${tomlString(url)}`);
      if (tokenEnv) lines.push(`bearer_token_env_var = ${tomlString(tokenEnv)}`);
    }
    return lines.join('\n');
  });
  return tables.length > 0 ? tables.join('\n\n') + '\n' : '';
}
