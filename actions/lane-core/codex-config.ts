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

/** Keys the run's `mode` decides: a settings fragment must not turn a review's read-only sandbox into a writable one. */
const MODE_KEYS = /^(sandbox_mode|sandbox_workspace_write|approval_policy)(\.|$)/;

/**
 * A config.toml fragment as codex `--config key=value` overrides: `key = value` lines, under `[table]` headers,
 * each value one line of TOML (codex parses it). Throws, naming the line, on what it cannot carry.
 */
export function codexConfigOverrides(fragment: string): string[] {
  const overrides: string[] = [];
  let table = '';
  fragment.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    const where = `line ${index + 1}`;
    if (line === '' || line.startsWith('#')) return;
    const header = /^\[([A-Za-z0-9_.-]+)\]$/.exec(line);
    if (header) {
      table = `${header[1]}.`;
      return;
    }
    const pair = /^([A-Za-z0-9_.-]+)\s*=\s*(.+)$/.exec(line);
    if (!pair) throw new Error(`${where}: expected "key = value" or a [table] header, got ${JSON.stringify(line)}`);
    const key = `${table}${pair[1]}`;
    if (MODE_KEYS.test(key)) throw new Error(`${where}: ${key} is set by the mode input, not by settings`);
    if (/^[[{]/.test(pair[2]!) && !/[\]}]\s*(#.*)?$/.test(pair[2]!))
      throw new Error(`${where}: a value must fit on one line`);
    overrides.push(`${key}=${pair[2]}`);
  });
  return overrides;
}
