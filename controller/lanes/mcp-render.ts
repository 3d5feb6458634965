// The lane's MCP servers, rendered from the profile's neutral form into what each agent reads: claude's
// `--mcp-config` JSON and codex's `[mcp_servers.NAME]` tables. Tokens stay in the environment: the files name the
// variable, never the value. A brokered profile's token servers are rendered at its broker instead, with the job's
// placeholder as their bearer: the broker adds the real token (controller/broker/mcp-route.ts).
import { createHash } from 'node:crypto';
import type { McpServer, Profile } from '../config/config.js';

/**
 * Where a brokered server's entry points until the launch knows the job's broker address (JobBrokers.grant writes it
 * in; a launch that cannot fails): a name that resolves nowhere, so an unfinished file reaches no server at all.
 */
export const BROKER_URL_MARK = 'http://factory-broker.invalid';
/** The released variable that holds a brokered job's placeholder, the bearer its brokered MCP entries send. */
export const MCP_BROKER_TOKEN_ENV = 'FACTORY_MCP_BROKER_TOKEN';

/**
 * An http server whose token a brokered job's broker adds, a static one from the env files (`token`: the job holds
 * neither the token nor its variable) or the host's gh login (`gh`).
 */
export type BrokeredMcp = Extract<McpServer, { url: string }> &
  ({ credential: 'token'; tokenEnv: string } | { credential: 'gh' });

/** The servers a brokered profile's broker serves: its http ones with `credential: token` or `gh`. */
export function brokeredMcpServers(profile: Pick<Profile, 'mcp'>): BrokeredMcp[] {
  return profile.mcp.flatMap((s): BrokeredMcp[] => {
    if (!('url' in s)) return [];
    if (s.credential === 'token' && s.tokenEnv) return [{ ...s, credential: 'token', tokenEnv: s.tokenEnv }];
    return s.credential === 'gh' ? [{ ...s, credential: 'gh' }] : [];
  });
}

/**
 * The url and bearer variable an http entry gets: its own, or for a token server of a brokered job the broker's and
 * the placeholder's (the servers brokeredMcpServers lists).
 */
function httpTarget(s: Extract<McpServer, { url: string }>, brokered: boolean) {
  if (brokered && (s.credential === 'token' || s.credential === 'gh'))
    return { url: `${BROKER_URL_MARK}/mcp/${s.name}`, tokenEnv: MCP_BROKER_TOKEN_ENV };
  return { url: s.url, tokenEnv: s.credential === 'token' ? s.tokenEnv : undefined };
}

/**
 * The key under which claude keeps a hosted server's OAuth login (`mcpOAuth` in .credentials.json): the server's name
 * and a hash of its transport, URL and headers. The lane's rendered entry for an `oauth` server is that of
 * `claude mcp add --transport http NAME URL` on the host (no headers), so the login the host made is the one found.
 */
export function claudeMcpOAuthKey(name: string, url: string): string {
  const hash = createHash('sha256')
    .update(JSON.stringify({ type: 'http', url, headers: {} }))
    .digest('hex');
  return `${name}|${hash.slice(0, 16)}`;
}

/** `brokered`: the job reaches its token servers through its broker (the launch decides: prepareJobFolder). */
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
