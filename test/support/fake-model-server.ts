// A loopback stand-in for the two model APIs the agent CLIs talk to, so the real `claude` and `codex` binaries run
// end to end offline: Anthropic Messages (SSE) for claude, OpenAI Responses (SSE) for codex, plus codex's token
// refresh endpoint. It doubles as an HTTP(S) proxy trap: tests point HTTPS_PROXY here so any attempt by a CLI to
// reach the internet is recorded (and refused) instead of leaving the machine.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a reply says it cost; the defaults are small, a test drives a run into a token budget with large ones. */
export interface TurnUsage {
  input: number;
  output: number;
}

export type ModelTurn =
  | { kind: 'text'; text: string; usage?: TurnUsage }
  /** A tool call: `Bash`/`Write` for claude, `exec_command` for codex; `say`, text the reply gives before the call
   * (a finding the agent states on its way); `namespace`, the Responses API namespace of the tool (codex lists each
   * MCP server's tools under `mcp__<server>`). */
  | {
      kind: 'tool';
      name: string;
      input: Record<string, unknown>;
      say?: string;
      namespace?: string;
      usage?: TurnUsage;
    }
  | { kind: 'error'; status: number; body: unknown; headers?: Record<string, string> }
  /** Accepts the request and never answers: the timeout path. */
  | { kind: 'hang' };

export type ModelApi = 'anthropic' | 'openai';

export interface RecordedRequest {
  api: ModelApi | 'oauth' | 'other';
  method: string;
  path: string;
  authorization?: string;
  apiKey?: string;
  body: unknown;
  /** When the request arrived (Date.now()), for the benchmark's stages. */
  at: number;
}

export interface FakeModelServer {
  url: string;
  requests: RecordedRequest[];
  /** Hosts a CLI tried to reach through the proxy trap. */
  outboundAttempts: string[];
  /** Sets the replies for the next model requests of one API (replacing any left over); an empty queue answers `done.`. */
  script(api: ModelApi, turns: ModelTurn[]): void;
  /** Tokens the codex refresh endpoint hands out. */
  refreshedTokens: { access_token: string; refresh_token: string; id_token: string };
  /** When set, the refresh endpoint answers with this error instead (a login that expired on the host). */
  refreshError?: { status: number; body: unknown };
  close(): Promise<void>;
}

export async function startFakeModelServer(): Promise<FakeModelServer> {
  const queues: Record<ModelApi, ModelTurn[]> = { anthropic: [], openai: [] };
  const hanging = new Set<http.ServerResponse>();
  const state: FakeModelServer = {
    url: '',
    requests: [],
    outboundAttempts: [],
    script: (api, turns) => void (queues[api] = [...turns]),
    refreshedTokens: {
      access_token: 'refreshed-access-token',
      refresh_token: 'refreshed-refresh-token',
      id_token: fakeIdToken(),
    },
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const server = http.createServer((req, res) => {
    const at = Date.now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const body = raw ? safeJson(raw) : undefined;
      const path = req.url ?? '/';
      const api: RecordedRequest['api'] = path.startsWith('/v1/messages')
        ? 'anthropic'
        : path.startsWith('/v1/responses')
          ? 'openai'
          : path.startsWith('/oauth/token')
            ? 'oauth'
            : 'other';
      state.requests.push({
        api,
        method: req.method ?? 'GET',
        path,
        authorization: req.headers.authorization,
        apiKey: header(req.headers['x-api-key']),
        body,
        at,
      });
      if (api === 'oauth') {
        return state.refreshError
          ? json(res, state.refreshError.status, state.refreshError.body)
          : json(res, 200, state.refreshedTokens);
      }
      if (path.startsWith('/v1/models')) return json(res, 200, { models: [] });
      if (api === 'other') return json(res, 404, { error: { message: `fake model server: no route ${path}` } });
      const turn = queues[api].shift() ?? { kind: 'text', text: 'done.' };
      if (turn.kind === 'hang') {
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
        return;
      }
      if (turn.kind === 'error') return json(res, turn.status, turn.body, turn.headers);
      const request = (body ?? {}) as { stream?: boolean; model?: string };
      if (api === 'anthropic') return anthropicReply(res, turn, request);
      return openaiReply(res, turn);
    });
  });
  server.on('connect', (req, socket) => {
    state.outboundAttempts.push(req.url ?? '?');
    socket.on('error', () => undefined);
    socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

type Reply = Exclude<ModelTurn, { kind: 'error' } | { kind: 'hang' }>;
let sequence = 0;

function anthropicReply(res: http.ServerResponse, turn: Reply, request: { stream?: boolean; model?: string }): void {
  const id = `msg_fake_${++sequence}`;
  const model = request.model ?? 'claude-fake';
  const blocks: Array<Record<string, unknown>> =
    turn.kind === 'text'
      ? [{ type: 'text', text: turn.text }]
      : [
          ...(turn.say ? [{ type: 'text', text: turn.say }] : []),
          { type: 'tool_use', id: `toolu_fake_${sequence}`, name: turn.name, input: turn.input },
        ];
  const stopReason = turn.kind === 'text' ? 'end_turn' : 'tool_use';
  const usage = turn.usage ?? { input: 30, output: 7 };
  if (!request.stream) {
    return json(res, 200, {
      id,
      type: 'message',
      role: 'assistant',
      model,
      content: blocks,
      stop_reason: stopReason,
      stop_sequence: null,
      usage: { input_tokens: usage.input, output_tokens: usage.output },
    });
  }
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  const send = (type: string, data: object) =>
    res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
  send('message_start', {
    message: {
      id,
      type: 'message',
      role: 'assistant',
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: usage.input, output_tokens: 1 },
    },
  });
  blocks.forEach((block, index) => {
    if (block.type === 'text') {
      send('content_block_start', { index, content_block: { type: 'text', text: '' } });
      send('content_block_delta', { index, delta: { type: 'text_delta', text: block.text } });
    } else {
      send('content_block_start', { index, content_block: { ...block, input: {} } });
      send('content_block_delta', {
        index,
        delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input) },
      });
    }
    send('content_block_stop', { index });
  });
  send('message_delta', {
    delta: { stop_reason: stopReason, stop_sequence: null },
    usage: { output_tokens: usage.output },
  });
  send('message_stop', {});
  res.end();
}

function openaiReply(res: http.ServerResponse, turn: Reply): void {
  const id = `resp_fake_${++sequence}`;
  const message = (text: string) => ({
    type: 'message',
    role: 'assistant',
    id: `msg_fake_${sequence}`,
    content: [{ type: 'output_text', text }],
  });
  const items =
    turn.kind === 'text'
      ? [message(turn.text)]
      : [
          ...(turn.say ? [message(turn.say)] : []),
          {
            type: 'function_call',
            id: `fc_fake_${sequence}`,
            call_id: `call_fake_${sequence}`,
            ...(turn.namespace ? { namespace: turn.namespace } : {}),
            name: turn.name,
            arguments: JSON.stringify(turn.input),
          },
        ];
  const usage = turn.usage ?? { input: 40, output: 9 };
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  const send = (type: string, data: object) =>
    res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
  send('response.created', { response: { id } });
  items.forEach((item, index) => send('response.output_item.done', { output_index: index, item }));
  send('response.completed', {
    response: {
      id,
      usage: {
        input_tokens: usage.input,
        input_tokens_details: { cached_tokens: 0 },
        output_tokens: usage.output,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: usage.input + usage.output,
      },
    },
  });
  res.end();
}

function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

const header = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

/** An unsigned JWT shaped like the ChatGPT id_token codex parses for the plan and account. */
export function fakeIdToken(email = 'lane-bot@example.com'): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const claims = {
    email,
    'https://api.openai.com/auth': { chatgpt_plan_type: 'pro', chatgpt_account_id: 'acct-fake' },
  };
  return [part({ alg: 'none', typ: 'JWT' }), part(claims), 'unsigned'].join('.');
}
