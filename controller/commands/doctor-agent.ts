// `factory doctor --agent`: one real agent turn in a lane's container, the canary docs/real-host.md asks for before the fleet
// moves ("prove the stdio-MCP and OAuth-token mounts on one agent"). The prompt is fixed and tiny; the model and the
// rest come from the lane's own settings (the auth copy's config). The command is built here and parsed here; the
// container is started by the doctor with the profile's mounts, network and environment.
import type { Profile } from '../config/config.js';
import { IN_CONTAINER } from '../../lane-contract/lane-variables.js';
import type { CheckResult } from './doctor-script.js';

export const CANARY_PROMPT = 'This is a health check. Reply with the single word OK.';

/** The shell command for one turn, prompt on stdin as the lane action passes it; undefined for a non-lane profile. */
export function agentCanaryCommand(profile: Profile): { script: string; env: Record<string, string> } | undefined {
  const prompt = `printf '%s' '${CANARY_PROMPT}'`;
  if (profile.lane === 'claude') {
    const mcp = profile.mcp.length > 0 ? ` --mcp-config ${IN_CONTAINER.mcpClaude}` : '';
    return {
      script: `cd "$(mktemp -d)" && ${prompt} | claude --print --output-format stream-json --verbose${mcp}`,
      env: { CLAUDE_CONFIG_DIR: IN_CONTAINER.claudeConfigDir },
    };
  }
  if (profile.lane === 'codex') {
    return {
      script: `cd "$(mktemp -d)" && ${prompt} | codex exec --json --skip-git-repo-check --sandbox danger-full-access -`,
      env: { CODEX_HOME: IN_CONTAINER.codexHome },
    };
  }
  return undefined;
}

type Event = Record<string, unknown>;
const events = (output: string): Event[] =>
  output.split('\n').flatMap((line) => {
    if (!line.startsWith('{')) return [];
    try {
      return [JSON.parse(line) as Event];
    } catch {
      return [];
    }
  });

/** One doctor row from the turn's JSON events: did it answer, how long it took, which MCP servers it had. */
export function parseAgentCanary(agent: 'codex' | 'claude', output: string, exitCode: number, ms: number): CheckResult {
  const name = `agent ${agent} turn`;
  const all = events(output);
  const fix = `run the same turn by hand (factory doctor prints the lane's exact mounts); check the ${agent} login on the host and the lane's model settings`;
  if (agent === 'claude') {
    const init = all.find((e) => e.type === 'system' && e.subtype === 'init') as
      { mcp_servers?: { name: string; status: string }[] } | undefined;
    const result = all.find((e) => e.type === 'result') as
      { subtype?: string; is_error?: boolean; result?: string } | undefined;
    const servers = (init?.mcp_servers ?? []).map((s) =>
      s.status === 'connected' ? s.name : `${s.name} (${s.status})`,
    );
    const listed = servers.length > 0 ? `; MCP servers: ${servers.join(', ')}` : '; no MCP servers';
    const failedServers = (init?.mcp_servers ?? []).filter((s) => s.status !== 'connected').map((s) => s.name);
    if (exitCode === 0 && result?.subtype === 'success' && !result.is_error && failedServers.length === 0) {
      return { name, ok: true, detail: `answered in ${ms} ms${listed}` };
    }
    const why =
      failedServers.length > 0
        ? `MCP servers not connected: ${failedServers.join(', ')}`
        : `no successful answer (exit ${exitCode}${result?.result ? `: ${result.result.slice(0, 120)}` : ''})`;
    return { name, ok: false, detail: `${why} after ${ms} ms${listed}`, fix };
  }
  const done = all.some((e) => e.type === 'turn.completed');
  const failed = all.find((e) => e.type === 'turn.failed' || e.type === 'error') as
    { message?: string; error?: { message?: string } } | undefined;
  if (exitCode === 0 && done) return { name, ok: true, detail: `answered in ${ms} ms` };
  return {
    name,
    ok: false,
    detail: `no successful answer (exit ${exitCode}${failed ? `: ${(failed.error?.message ?? failed.message ?? '').slice(0, 120)}` : ''}) after ${ms} ms`,
    fix,
  };
}
