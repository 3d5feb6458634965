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

function result(e: Json): LaneEvent[] {
  const u = obj(e.usage);
  const usage: Usage = {
    inputTokens: num(u.input_tokens) + num(u.cache_creation_input_tokens),
    outputTokens: num(u.output_tokens),
    cachedInputTokens: num(u.cache_read_input_tokens),
    costUsd: typeof e.total_cost_usd === 'number' ? e.total_cost_usd : undefined,
  };
  const text = str(e.result);
  const isError = e.is_error === true || (typeof e.subtype === 'string' && e.subtype.startsWith('error'));
  const events: LaneEvent[] = [{ kind: 'final', text, isError, usage }];
  if (isError) {
    const status = typeof e.api_error_status === 'number' ? e.api_error_status : undefined;
    events.push({ kind: 'error', message: text || str(e.subtype) || 'claude reported an error', status });
  }
  return events;
}
