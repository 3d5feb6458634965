// The pre-flight: before the CLI starts (and so before a single model token), the login must look usable and every
// MCP server of the lane must answer `initialize` and `tools/list`. The servers are asked all at once, each bounded,
// so a lane with many servers fails in the time of its slowest one, naming each that failed.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loginProblem } from './login-check.js';
import type { PrivateHome } from './credential-store.js';
import { probeMcpServer } from './mcp-probe.js';
import { claudeMcpServers, codexMcpServers, withClaudeMcpLogins, type McpServerSpec } from './mcp-servers.js';
import type { AgentUser } from './agent-user.js';
import type { Agent } from './lane-settings.js';

/** Long enough for a server started through npx or uvx from a warm cache; a hung one costs no more than this. */
export const MCP_PROBE_TIMEOUT_MS = 10_000;

export interface PreflightRequest {
  agent: Agent;
  home: PrivateHome;
  /** claude's --mcp-config file; for codex the MCP servers are read from the private home's config.toml. */
  mcpFile?: string;
  /** The agent's environment: servers start with it, as the CLI would start them. */
  env: Record<string, string>;
  cwd: string;
  /** The lane's agent user: stdio servers start as it, as the CLI would start them. */
  user?: AgentUser;
  timeoutMs?: number;
}

export async function preflight(req: PreflightRequest, deps: { log: (line: string) => void }): Promise<void> {
  const started = Date.now();
  const credential = req.home.files.find((f) => f.credential);
  const login = credential
    ? loginProblem(req.agent, { path: credential.source, text: credential.copied }, req.env, Date.now())
    : undefined;
  if (login) throw new Error(`pre-flight: ${login}`);
  const servers = await lanesServers(req);
  const timeoutMs = req.timeoutMs ?? MCP_PROBE_TIMEOUT_MS;
  const results = await Promise.all(
    servers.map((s) =>
      probeMcpServer(s, { env: req.env, cwd: req.cwd, timeoutMs, user: req.user }).then(
        (r) => ({ server: s, tools: r.tools }),
        (err: Error) => ({ server: s, error: err.message }),
      ),
    ),
  );
  const failed = results.flatMap((r) =>
    'error' in r ? [`MCP server "${r.server.name}" (${where(r.server)}): ${r.error}`] : [],
  );
  if (failed.length)
    throw new Error(
      `pre-flight: ${failed.length} of ${servers.length} MCP servers did not answer; the agent was not started\n${failed.join('\n')}`,
    );
  const ms = Date.now() - started;
  deps.log(
    servers.length
      ? `pre-flight: login ok; ${servers.length} MCP servers answered (${results.map((r) => `${r.server.name}: ${'tools' in r ? r.tools : 0} tools`).join(', ')}) in ${ms} ms`
      : `pre-flight: login ok; no MCP servers (${ms} ms)`,
  );
}

async function lanesServers(req: PreflightRequest): Promise<McpServerSpec[]> {
  if (req.agent === 'claude') {
    if (!req.mcpFile) return [];
    const text = await readFile(req.mcpFile, 'utf8');
    try {
      const credentials = req.home.files.find((f) => f.credential)?.copied;
      return withClaudeMcpLogins(claudeMcpServers(text, req.env), credentials);
    } catch (err) {
      throw new Error(`pre-flight: ${req.mcpFile}: ${(err as Error).message}`);
    }
  }
  const config = await readFile(join(req.home.dir, 'config.toml'), 'utf8').catch(() => '');
  return codexMcpServers(config, req.env);
}

const where = (s: McpServerSpec) => (s.kind === 'stdio' ? [s.command, ...s.args].join(' ').slice(0, 120) : s.url);
