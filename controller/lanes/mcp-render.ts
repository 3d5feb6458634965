// The lane's MCP servers, rendered from the profile's neutral form into what each agent reads: claude's
// `--mcp-config` JSON and codex's `[mcp_servers.NAME]` tables. Tokens stay in the environment: the files name the
// variable, never the value.
import { createHash } from 'node:crypto';
import type { McpServer } from '../config/config.js';

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

export function renderClaudeMcp(servers: readonly McpServer[]): string {
  const mcpServers: Record<string, unknown> = {};
  for (const s of servers) {
    if ('command' in s) mcpServers[s.name] = { type: 'stdio', command: s.command, args: s.args, env: s.env };
    else
      mcpServers[s.name] = {
        type: 'http',
        url: s.url,
        ...(s.credential === 'token' && s.tokenEnv ? { headers: { Authorization: `Bearer \${${s.tokenEnv}}` } } : {}),
      };
  }
  return JSON.stringify({ mcpServers }, null, 2) + '\n';
}

const tomlString = (s: string) => JSON.stringify(s); // TOML basic strings share JSON's escapes for these characters
const tomlArray = (a: readonly string[]) => `[${a.map(tomlString).join(', ')}]`;

export function renderCodexMcp(servers: readonly McpServer[]): string {
  const tables = servers.map((s) => {
    const lines = [`[mcp_servers.${s.name}]`];
    if ('command' in s) {
      lines.push(`command = ${tomlString(s.command)}`, `args = ${tomlArray(s.args)}`);
      const env = Object.entries(s.env);
      if (env.length > 0) lines.push(`env = { ${env.map(([k, v]) => `${k} = ${tomlString(v)}`).join(', ')} }`);
    } else {
      lines.push(`url = ${tomlString(s.url)}`);
      if (s.credential === 'token' && s.tokenEnv) lines.push(`bearer_token_env_var = ${tomlString(s.tokenEnv)}`);
    }
    return lines.join('\n');
  });
  return tables.length > 0 ? tables.join('\n\n') + '\n' : '';
}
