// The MCP servers a run will start, read from the file its CLI reads: claude's --mcp-config JSON, or the
// `[mcp_servers.NAME]` tables of codex's config.toml. Only the shapes the lane renders and hosts commonly write are
// understood (strings, string arrays, inline tables of strings); anything else is left for the CLI to judge.

export type McpServerSpec =
  | { name: string; kind: 'stdio'; command: string; args: string[]; env: Record<string, string> }
  | { name: string; kind: 'http'; url: string; headers: Record<string, string> };

type Env = Record<string, string | undefined>;

/** claude expands `${VAR}` and `${VAR:-default}` in its MCP config; so does the check, to ask what claude will. */
export function expandVariables(text: string, env: Env): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_, name: string, fallback?: string) =>
    env[name] !== undefined && env[name] !== '' ? env[name]! : (fallback ?? ''),
  );
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const stringMap = (v: unknown): Record<string, string> =>
  v && typeof v === 'object' && !Array.isArray(v)
    ? Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'))
    : {};

export function claudeMcpServers(json: string, env: Env): McpServerSpec[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (err) {
    throw new Error(`the MCP config is not JSON: ${(err as Error).message}`);
  }
  const servers = (parsed as { mcpServers?: unknown })?.mcpServers;
  const out: McpServerSpec[] = [];
  for (const [name, raw] of Object.entries(servers && typeof servers === 'object' ? servers : {})) {
    const s = (raw ?? {}) as Record<string, unknown>;
    const x = (t: string) => expandVariables(t, env);
    if (typeof s.command === 'string')
      out.push({
        name,
        kind: 'stdio',
        command: x(s.command),
        args: strings(s.args).map(x),
        env: Object.fromEntries(Object.entries(stringMap(s.env)).map(([k, v]) => [k, x(v)])),
      });
    else if (typeof s.url === 'string' && s.type !== 'sse')
      out.push({
        name,
        kind: 'http',
        url: x(s.url),
        headers: Object.fromEntries(Object.entries(stringMap(s.headers)).map(([k, v]) => [k, x(v)])),
      });
  }
  return out;
}

/**
 * The logins claude keeps for hosted servers (`mcpOAuth` in its `.credentials.json`, made by `/mcp` on the host), as
 * the Authorization header claude itself will send: a server with `credential: oauth` is rendered without headers, and
 * asking it without its login would only hear 401.
 */
export function withClaudeMcpLogins(servers: McpServerSpec[], credentialsJson: string | undefined): McpServerSpec[] {
  const logins = Object.values(stringTables((parseJson(credentialsJson ?? '') as { mcpOAuth?: unknown })?.mcpOAuth));
  return servers.map((s) => {
    if (s.kind !== 'http' || Object.keys(s.headers).some((h) => h.toLowerCase() === 'authorization')) return s;
    const login = logins.find((l) => l.serverName === s.name && l.serverUrl === s.url && l.accessToken);
    return login ? { ...s, headers: { ...s.headers, Authorization: `Bearer ${login.accessToken}` } } : s;
  });
}

const stringTables = (v: unknown): Record<string, Record<string, string>> =>
  v && typeof v === 'object' && !Array.isArray(v)
    ? Object.fromEntries(Object.entries(v).map(([k, t]) => [k, stringMap(t)]))
    : {};

/** codex's `[mcp_servers.NAME]` tables (and their `.env` / `.http_headers` sub-tables) in a config.toml. */
export function codexMcpServers(toml: string, env: Env): McpServerSpec[] {
  const tables = new Map<string, Record<string, unknown>>();
  let current: Record<string, unknown> | undefined;
  for (const raw of toml.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) {
      const path = header[1]!.split('.').map((p) => p.trim().replace(/^"(.*)"$/, '$1'));
      if (path[0] !== 'mcp_servers' || !path[1] || path.length > 3) {
        current = undefined;
        continue;
      }
      const table = tables.get(path[1]) ?? {};
      tables.set(path[1], table);
      current = path[2] ? ((table[path[2]] ??= {}) as Record<string, unknown>) : table;
      continue;
    }
    const kv = /^([A-Za-z0-9_-]+)\s*=\s*(.+)$/.exec(line);
    if (current && kv) current[kv[1]!] = tomlValue(kv[2]!);
  }
  const out: McpServerSpec[] = [];
  for (const [name, t] of tables) {
    if (t.enabled === false) continue;
    if (typeof t.command === 'string') {
      out.push({ name, kind: 'stdio', command: t.command, args: strings(t.args), env: stringMap(t.env) });
    } else if (typeof t.url === 'string') {
      const headers = stringMap(t.http_headers);
      for (const [h, variable] of Object.entries(stringMap(t.env_http_headers)))
        if (env[variable]) headers[h] = env[variable]!;
      if (typeof t.bearer_token_env_var === 'string' && env[t.bearer_token_env_var])
        headers.Authorization = `Bearer ${env[t.bearer_token_env_var]}`;
      out.push({ name, kind: 'http', url: t.url, headers });
    }
  }
  return out;
}

/** One-line TOML values: strings, booleans, numbers, string arrays and inline tables of those. */
function tomlValue(text: string): unknown {
  const v = text.replace(/\s+#[^"']*$/, '').trim();
  if (v === 'true' || v === 'false') return v === 'true';
  if (/^-?\d+(\.\d+)?$/.test(v)) return Number(v);
  if (v.startsWith("'")) return v.slice(1, v.lastIndexOf("'"));
  if (v.startsWith('"')) return parseJson(v);
  if (v.startsWith('['))
    return [...v.matchAll(/"((?:[^"\\]|\\.)*)"|'([^']*)'/g)].map((m) => m[2] ?? parseJson(`"${m[1]}"`));
  if (v.startsWith('{')) {
    const table: Record<string, unknown> = {};
    for (const m of v.matchAll(/([A-Za-z0-9_-]+|"[^"]+")\s*=\s*("(?:[^"\\]|\\.)*"|'[^']*')/g))
      table[m[1]!.replace(/^"|"$/g, '')] = tomlValue(m[2]!);
    return table;
  }
  return undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
