// Records real event streams from the installed CLIs against the fake model server, as fixtures for the parser
// tests. Run: npx tsx test/support/record-cli-streams.ts [scenario...]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startFakeModelServer, type ModelTurn } from './fake-model-server.js';
import { offlineCliEnv, writeLaneHomes } from './lane-homes.js';

const bin = (name: string) => resolve('node_modules/.bin', name);
const out = resolve('test/fixtures/lane-streams');
const resetAt = 4102444800; // 2100-01-01, far enough that the fixture never reads as "already reset"

interface Scenario {
  agent: 'claude' | 'codex';
  turns: ModelTurn[];
  refreshError?: { status: number; body: unknown };
  args?: string[];
}
const scenarios: Record<string, Scenario> = {
  'claude-success': {
    agent: 'claude',
    turns: [
      { kind: 'tool', name: 'Bash', input: { command: 'echo lane-probe', description: 'Probe the shell' } },
      { kind: 'text', text: 'Reviewed the change: no blocking findings.' },
    ],
  },
  'claude-structured': {
    agent: 'claude',
    args: [
      '--json-schema',
      JSON.stringify({ type: 'object', required: ['conclusion'], properties: { conclusion: { type: 'string' } } }),
    ],
    // With --json-schema claude offers a StructuredOutput tool and ends the run when the model calls it.
    turns: [{ kind: 'tool', name: 'StructuredOutput', input: { conclusion: 'success' } }],
  },
  'claude-usage-limit': {
    agent: 'claude',
    turns: [
      {
        kind: 'error',
        status: 429,
        body: {
          type: 'error',
          error: { type: 'rate_limit_error', message: "This request would exceed your account's rate limit." },
        },
        headers: {
          'anthropic-ratelimit-unified-status': 'rejected',
          'anthropic-ratelimit-unified-reset': String(resetAt),
          'anthropic-ratelimit-unified-representative-claim': 'five_hour',
        },
      },
    ],
  },
  'claude-auth-error': {
    agent: 'claude',
    turns: Array.from({ length: 3 }, () => ({
      kind: 'error' as const,
      status: 401,
      body: { type: 'error', error: { type: 'authentication_error', message: 'OAuth token has expired.' } },
    })),
  },
  'codex-success': {
    agent: 'codex',
    turns: [
      { kind: 'tool', name: 'exec_command', input: { cmd: 'echo lane-probe' } },
      { kind: 'text', text: 'Reviewed the change: no blocking findings.' },
    ],
  },
  'codex-usage-limit': {
    agent: 'codex',
    turns: Array.from({ length: 6 }, () => ({
      kind: 'error' as const,
      status: 429,
      body: {
        error: {
          type: 'usage_limit_reached',
          message: 'The usage limit has been reached',
          plan_type: 'pro',
          resets_at: resetAt,
        },
      },
    })),
  },
  'codex-auth-error': {
    agent: 'codex',
    turns: Array.from({ length: 3 }, () => ({
      kind: 'error' as const,
      status: 401,
      body: {
        error: {
          message: 'Your authentication token has expired. Please try signing in again.',
          type: 'invalid_request_error',
          code: 'token_expired',
        },
      },
    })),
    refreshError: {
      status: 401,
      body: { error: { code: 'refresh_token_expired', message: 'Your refresh token has expired.' } },
    },
  },
};

const server = await startFakeModelServer();
for (const name of process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(scenarios)) {
  const scenario = scenarios[name]!;
  const root = mkdtempSync(join(tmpdir(), 'record-'));
  const homes = writeLaneHomes(root, server.url);
  const work = join(root, 'work');
  spawnSync('git', ['init', '-q', work]);
  server.script(scenario.agent === 'codex' ? 'openai' : 'anthropic', scenario.turns);
  server.refreshError = scenario.refreshError;
  const env = {
    ...process.env,
    ...offlineCliEnv(server.url),
    HOME: join(root, 'home'),
    CODEX_HOME: homes.codexHome,
    CLAUDE_CONFIG_DIR: homes.claudeConfigDir,
  };
  const args =
    scenario.agent === 'claude'
      ? ['-p', '--output-format', 'stream-json', '--verbose', '--allowedTools', 'Bash', ...(scenario.args ?? [])]
      : ['exec', '--json', '--skip-git-repo-check', '--sandbox', 'workspace-write', '-'];
  const started = Date.now();
  // Async: the fake server lives in this process and must keep answering while the CLI runs.
  const child = spawn(bin(scenario.agent), args, { cwd: work, env, timeout: 60_000 });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdin.end('Review the change.');
  const status = await new Promise<number | null>((done) => child.on('close', done));
  writeFileSync(join(out, `${name}.jsonl`), stdout);
  console.log(name, 'exit', status, `${Date.now() - started}ms`, 'stderr:', stderr.slice(0, 400));
}
console.log('outbound attempts:', server.outboundAttempts);
if (process.env.SHOW_REQUESTS) console.log(server.requests.map((r) => `${r.api} ${r.method} ${r.path}`).join('\n'));
await server.close();
