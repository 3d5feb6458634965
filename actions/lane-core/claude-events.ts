// Translates `claude -p --output-format stream-json --verbose` lines into lane events.
import { firstLine, jsonLine, num, obj, str, type Json, type LaneEvent, type Usage } from './lane-event.js';

export function parseClaudeLine(line: string): LaneEvent[] {
  const e = jsonLine(line);
  if (!e) return [];
  switch (e.type) {
    case 'system':
      if (e.subtype === 'init') return [{ kind: 'session', id: str(e.session_id), model: str(e.model) || undefined }];
      if (e.subtype === 'api_retry') {
        return [
          {
            kind: 'progress',
            text: `API retry ${num(e.attempt)}/${num(e.max_retries)} (${str(e.error) || 'error'}${e.error_status ? ` ${e.error_status}` : ''})`,
          },
        ];
      }
      return [];
    case 'assistant':
      return assistant(obj(e.message));
    case 'user':
      return toolResults(obj(e.message));
    case 'rate_limit_event': {
      const info = obj(e.rate_limit_info);
      return info.status === 'rejected' ? [{ kind: 'limit', resetsAt: num(info.resetsAt) || undefined }] : [];
    }
    case 'result':
      return result(e);
    default:
      return [];
  }
}

function assistant(message: Json): LaneEvent[] {
  const events: LaneEvent[] = [];
  const blocks = Array.isArray(message.content) ? message.content.map(obj) : [];
  // One response arrives as several assistant lines, one per content block, all under the response's id.
  if (str(message.id))
    events.push({
      kind: 'turn',
      id: str(message.id),
      more: blocks.some((b) => b.type === 'tool_use'),
      usage: 'usage' in message ? usageOf(obj(message.usage)) : undefined,
    });
  for (const block of Array.isArray(message.content) ? message.content.map(obj) : []) {
    if (block.type === 'text' && str(block.text)) {
      events.push(
        { kind: 'message', text: str(block.text) },
        { kind: 'progress', text: `claude: ${firstLine(str(block.text))}` },
      );
    } else if (block.type === 'tool_use') {
      events.push({ kind: 'progress', text: `tool ${str(block.name)}: ${firstLine(describeInput(obj(block.input)))}` });
    }
  }
  return events;
}

/** The one field of a tool's input that says what it does, for the log line. */
function describeInput(input: Json): string {
  for (const key of ['command', 'file_path', 'path', 'pattern', 'url', 'query', 'description']) {
    if (typeof input[key] === 'string') return input[key] as string;
  }
  return JSON.stringify(input);
}

function toolResults(message: Json): LaneEvent[] {
  const blocks = Array.isArray(message.content) ? message.content.map(obj) : [];
  return blocks
    .filter((b) => b.type === 'tool_result' && b.is_error === true)
    .map((b) => ({
      kind: 'progress' as const,
      text: `tool error: ${firstLine(typeof b.content === 'string' ? b.content : JSON.stringify(b.content))}`,
    }));
}

const STOPPED_AT: Record<string, 'turns' | 'costUsd'> = {
  error_max_turns: 'turns',
  error_max_budget_usd: 'costUsd',
};

/** Anthropic's usage: input_tokens leaves out the cache, whose writes are billed as input and reads apart. */
function usageOf(u: Json): Usage {
  return {
    inputTokens: num(u.input_tokens) + num(u.cache_creation_input_tokens),
    outputTokens: num(u.output_tokens),
    cachedInputTokens: num(u.cache_read_input_tokens),
  };
}

function result(e: Json): LaneEvent[] {
  const usage: Usage = {
    ...usageOf(obj(e.usage)),
    costUsd: typeof e.total_cost_usd === 'number' ? e.total_cost_usd : undefined,
  };
  const text = str(e.result);
  const stoppedAt = STOPPED_AT[str(e.subtype)];
  const isError = e.is_error === true || (typeof e.subtype === 'string' && e.subtype.startsWith('error'));
  const turns = typeof e.num_turns === 'number' ? e.num_turns : undefined;
  // A run claude ended at a budget it was given is not an error: the lane reports it as stopped at that budget.
  const events: LaneEvent[] = [{ kind: 'final', text, isError: isError && !stoppedAt, usage, turns, stoppedAt }];
  if (isError && !stoppedAt) {
    const status = typeof e.api_error_status === 'number' ? e.api_error_status : undefined;
    events.push({ kind: 'error', message: text || str(e.subtype) || 'claude reported an error', status });
  }
  return events;
}
