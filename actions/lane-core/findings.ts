// Findings with a file and line, taken from a structured answer, become check-run annotations. The shape is
// the one actions/agent-lane/README.md documents for `output-schema` (`findings: [{ path, line, severity, message }]`).
import { obj, str } from './lane-event.js';

export interface Finding {
  path: string;
  line: number;
  endLine: number;
  severity: 'failure' | 'warning' | 'notice';
  title?: string;
  message: string;
  /** Replacement text for lines line..endLine on the new side, when the agent proposes an exact fix. */
  suggestion?: string;
}

const LEVELS: Record<string, Finding['severity']> = {
  failure: 'failure',
  error: 'failure',
  blocking: 'failure',
  critical: 'failure',
  high: 'failure',
  warning: 'warning',
  medium: 'warning',
  major: 'warning',
  notice: 'notice',
  info: 'notice',
  low: 'notice',
  minor: 'notice',
  nit: 'notice',
};

export function findingsOf(structured: unknown): Finding[] {
  const list = obj(structured).findings;
  if (!Array.isArray(list)) return [];
  return list.flatMap((raw) => {
    const f = obj(raw);
    const path = str(f.path) || str(f.file);
    const line = Number(f.line ?? f.start_line);
    const message = str(f.message) || str(f.body) || str(f.description);
    if (!path || !Number.isInteger(line) || line < 1 || !message) return [];
    const end = Number(f.end_line ?? f.endLine ?? line);
    return [
      {
        path: path.replace(/^\.?\//, ''),
        line,
        endLine: Number.isInteger(end) && end >= line ? end : line,
        severity: LEVELS[str(f.severity).toLowerCase()] ?? 'warning',
        title: str(f.title) || undefined,
        message,
        ...(typeof f.suggestion === 'string' ? { suggestion: f.suggestion } : {}),
      },
    ];
  });
}

export type Conclusion = 'success' | 'failure' | 'neutral';
const CONCLUSIONS = new Set<string>(['success', 'failure', 'neutral']);

/** An answer may carry its own verdict (`"conclusion": "failure"` for blocking findings). */
export function verdictOf(structured: unknown): Conclusion | undefined {
  const c = str(obj(structured).conclusion).toLowerCase();
  return CONCLUSIONS.has(c) ? (c as Conclusion) : undefined;
}
