// Translates `codex exec --json` lines (thread/turn/item events) into lane events.
import { firstLine, jsonLine, num, obj, str, type Json, type LaneEvent } from './lane-event.js';

export function parseCodexLine(line: string): LaneEvent[] {
  const e = jsonLine(line);
  if (!e) return [];
  switch (e.type) {
    case 'thread.started':
      return [{ kind: 'session', id: str(e.thread_id) }];
    case 'item.started':
      return started(obj(e.item));
    case 'item.completed':
      return completed(obj(e.item));
    case 'turn.completed': {
      const u = obj(e.usage);
      return [
        {
          kind: 'usage',
          usage: {
            inputTokens: num(u.input_tokens),
            outputTokens: num(u.output_tokens),
            cachedInputTokens: num(u.cached_input_tokens),
          },
        },
      ];
    }
    case 'error':
      return [{ kind: 'error', message: str(e.message) || 'codex reported an error' }];
    case 'turn.failed':
      return [{ kind: 'error', message: str(obj(e.error).message) || 'codex turn failed' }];
    default:
      return [];
  }
}

function started(item: Json): LaneEvent[] {
  if (item.type === 'command_execution') return [{ kind: 'progress', text: `$ ${firstLine(str(item.command))}` }];
  if (item.type === 'mcp_tool_call') return [{ kind: 'progress', text: `mcp ${str(item.server)}.${str(item.tool)}` }];
  return [];
}

/** Items that are one model response each: codex's JSON stream has no event per request, so a tool call, a file
 * change or a message counts as the response that made it. */
const TOOL_ITEMS = new Set(['command_execution', 'mcp_tool_call', 'file_change', 'web_search']);

function completed(item: Json): LaneEvent[] {
  const id = str(item.id);
  if (TOOL_ITEMS.has(str(item.type))) return [{ kind: 'turn', id, more: true }, ...describe(item)];
  if (item.type === 'agent_message') return [{ kind: 'turn', id, more: false }, ...describe(item)];
  return describe(item);
}

function describe(item: Json): LaneEvent[] {
  switch (item.type) {
    case 'agent_message':
      return [
        { kind: 'message', text: str(item.text) },
        { kind: 'progress', text: `codex: ${firstLine(str(item.text))}` },
      ];
    case 'command_execution':
      return [{ kind: 'progress', text: `  exit ${item.exit_code ?? '?'}: ${firstLine(str(item.command), 100)}` }];
    case 'file_change': {
      const paths = (Array.isArray(item.changes) ? item.changes : []).map(
        (c) => `${str(obj(c).kind)} ${str(obj(c).path)}`,
      );
      return [{ kind: 'progress', text: `files: ${paths.join(', ')}` }];
    }
    case 'reasoning':
      return [{ kind: 'progress', text: `thinking: ${firstLine(str(item.text))}` }];
    // An `error` item is a warning the run survived (e.g. unknown model metadata); fatal ones arrive as `error` events.
    case 'error':
      return [{ kind: 'progress', text: `warning: ${firstLine(str(item.message))}` }];
    default:
      return [];
  }
}
