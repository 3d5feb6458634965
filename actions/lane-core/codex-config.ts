// The run's codex config: the lane's own config.toml plus the MCP servers the lane profile rendered for codex.

/** Appends `[mcp_servers.NAME]` tables from `mcpToml`, skipping names the config already defines (TOML forbids
 * a table twice, and the host's own definition should win over the rendered one). */
export function mergeMcpServers(configToml: string, mcpToml: string): string {
  const defined = new Set([...configToml.matchAll(/^\s*\[mcp_servers\.([^\]\s.]+)[\].]/gm)].map((m) => m[1]));
  const kept: string[] = [];
  let keep = true;
  for (const line of mcpToml.split('\n')) {
    const header = /^\s*\[mcp_servers\.([^\]\s.]+)[\].]/.exec(line);
    if (header) keep = !defined.has(header[1]);
    if (keep) kept.push(line);
  }
  const addition = kept.join('\n').trim();
  if (!addition) return configToml;
  return `${configToml.replace(/\s*$/, '')}\n\n${addition}\n`;
}
