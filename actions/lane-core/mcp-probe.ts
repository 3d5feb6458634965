// Asks one MCP server what an agent would: `initialize`, then `tools/list`, over stdio or streamable HTTP. A few
// lines of JSON-RPC instead of the MCP SDK, which would double the bundle for three messages.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { asAgent, type AgentUser } from './agent-user.js';
import type { McpServerSpec } from './mcp-servers.js';
import { killAsAgent } from './process-runner.js';
import { killRun, RUN_MARKER } from './process-tree.js';

/** The protocol version the check offers; servers answer with the one they speak, which is all it needs. */
const PROTOCOL_VERSION = '2025-06-18';
const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: {
    protocolVersion: PROTOCOL_VERSION,
    capabilities: {},
    clientInfo: { name: 'factory-preflight', version: '1' },
  },
};
const INITIALIZED = { jsonrpc: '2.0', method: 'notifications/initialized' };
const LIST_TOOLS = { jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} };

export interface ProbeResult {
  /** How many tools the server listed. */
  tools: number;
}

interface RpcAnswer {
  id?: unknown;
  result?: { tools?: unknown[] };
  error?: { message?: string; code?: number };
}

const answerOf = (a: RpcAnswer, step: string): RpcAnswer['result'] => {
  if (a.error) throw new Error(`${step} answered error ${a.error.code ?? ''}: ${a.error.message ?? 'no message'}`);
  return a.result ?? {};
};

export interface ProbeOptions {
  env: Record<string, string>;
  cwd: string;
  timeoutMs: number;
  /** Starts a stdio server as the lane's agent user, as its CLI will: never as the runner's user, whose processes
   * hold the job's tokens, in a working directory the pull request controls. */
  user?: AgentUser;
}

export function probeMcpServer(server: McpServerSpec, o: ProbeOptions): Promise<ProbeResult> {
  return server.kind === 'stdio' ? probeStdio(server, o) : probeHttp(server, o.timeoutMs);
}

function probeStdio(s: Extract<McpServerSpec, { kind: 'stdio' }>, o: ProbeOptions): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    // Its own process group plus a marker, so the server and whatever it started go together when the check is done.
    const runId = randomUUID();
    const { command, args } = o.user ? asAgent(o.user, s.command, s.args) : { command: s.command, args: s.args };
    const child = spawn(command, args, {
      cwd: o.cwd,
      env: { ...o.env, ...s.env, [RUN_MARKER]: runId },
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    let step = 'initialize';
    let done = false;
    const finish = (err: Error | undefined, result?: ProbeResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (o.user) killAsAgent(o.user, child.pid, runId, 'SIGKILL');
      else killRun(child.pid, runId, 'SIGKILL');
      if (err) reject(err);
      else resolve(result!);
    };
    const timer = setTimeout(
      () => finish(new Error(`no answer to ${step} within ${o.timeoutMs / 1000}s${tail(stderr)}`)),
      o.timeoutMs,
    );
    child.on('error', (err) => finish(new Error(`cannot start ${command}: ${err.message}`)));
    child.on('exit', (code, signal) =>
      finish(new Error(`exited (${signal ?? `code ${code}`}) before answering ${step}${tail(stderr)}`)),
    );
    child.stderr.on('data', (c: Buffer) => void (stderr = (stderr + c.toString('utf8')).slice(-2_000)));
    child.stdin.on('error', () => undefined);
    const send = (message: object) => child.stdin.write(`${JSON.stringify(message)}\n`);
    createInterface({ input: child.stdout }).on('line', (line) => {
      let message: RpcAnswer;
      try {
        message = JSON.parse(line) as RpcAnswer;
      } catch {
        return; // a server that logs to stdout; claude skips such lines too
      }
      try {
        if (message.id === 1) {
          answerOf(message, 'initialize');
          step = 'tools/list';
          send(INITIALIZED);
          send(LIST_TOOLS);
        } else if (message.id === 2) {
          finish(undefined, { tools: answerOf(message, 'tools/list')?.tools?.length ?? 0 });
        }
      } catch (err) {
        finish(err as Error);
      }
    });
    send(INITIALIZE);
  });
}

async function probeHttp(s: Extract<McpServerSpec, { kind: 'http' }>, timeoutMs: number): Promise<ProbeResult> {
  const signal = AbortSignal.timeout(timeoutMs);
  let session: string | undefined;
  const post = async (message: { id?: number; method: string }): Promise<RpcAnswer | undefined> => {
    const res = await fetch(s.url, {
      method: 'POST',
      signal,
      headers: {
        ...s.headers,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': PROTOCOL_VERSION,
        ...(session ? { 'mcp-session-id': session } : {}),
      },
      body: JSON.stringify(message),
    }).catch((err: Error) => {
      throw new Error(
        signal.aborted
          ? `no answer to ${message.method} within ${timeoutMs / 1000}s`
          : `${message.method}: ${err.message}${err.cause ? ` (${(err.cause as Error).message})` : ''}`,
      );
    });
    const body = await res.text();
    if (!res.ok) throw new Error(`${message.method} answered HTTP ${res.status}${excerpt(body)}`);
    session ??= res.headers.get('mcp-session-id') ?? undefined;
    if (message.id === undefined) return undefined;
    const answer = (res.headers.get('content-type') ?? '').includes('text/event-stream')
      ? sseAnswer(body, message.id)
      : parseAnswer(body);
    if (!answer) throw new Error(`${message.method} answered no JSON-RPC response${excerpt(body)}`);
    return answer;
  };
  answerOf((await post(INITIALIZE))!, 'initialize');
  await post(INITIALIZED);
  return { tools: answerOf((await post(LIST_TOOLS))!, 'tools/list')?.tools?.length ?? 0 };
}

function parseAnswer(text: string): RpcAnswer | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' ? (v as RpcAnswer) : undefined;
  } catch {
    return undefined;
  }
}

/** The response with our id among an event stream's `data:` lines. */
function sseAnswer(body: string, id: number): RpcAnswer | undefined {
  for (const event of body.split(/\r?\n\r?\n/)) {
    const data = event
      .split(/\r?\n/)
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).trimStart())
      .join('\n');
    const answer = data ? parseAnswer(data) : undefined;
    if (answer?.id === id) return answer;
  }
  return undefined;
}

const excerpt = (body: string) => (body.trim() ? `: ${body.trim().replace(/\s+/g, ' ').slice(0, 200)}` : '');
const tail = (stderr: string) => {
  const last = stderr.trim().split('\n').filter(Boolean).slice(-3).join(' / ');
  return last ? `; stderr: ${last.slice(-300)}` : '';
};
