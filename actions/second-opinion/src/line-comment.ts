// A finding as a line comment on the review. A finding with a suggestion becomes a GitHub suggestion block over
// exactly the lines it replaces, which the author can apply with one click; that needs the whole range inside the
// diff, so a range GitHub would refuse falls back to a plain comment on the first line.
import type { Finding } from '../../lane-core/findings.js';
import type { ReviewComment } from './review-github.js';

export function lineComment(f: Finding, commentable: ReadonlySet<number>): ReviewComment | undefined {
  if (!commentable.has(f.line)) return undefined;
  const text = `**${f.severity === 'failure' ? 'blocking' : f.severity}**${f.title ? ` ${f.title}` : ''}: ${f.message}`;
  const range = Array.from({ length: f.endLine - f.line + 1 }, (_, i) => f.line + i);
  if (f.suggestion === undefined || !range.every((l) => commentable.has(l)))
    return { path: f.path, line: f.line, body: text };
  // A fence longer than any backtick run in the suggestion, so code with ``` in it cannot close the block early.
  const fence = '`'.repeat(Math.max(3, ...[...f.suggestion.matchAll(/`+/g)].map((m) => m[0].length + 1)));
  const body = `${text}\n\n${fence}suggestion\n${f.suggestion.replace(/\n$/, '')}\n${fence}`;
  return f.endLine > f.line
    ? { path: f.path, line: f.endLine, startLine: f.line, body }
    : { path: f.path, line: f.line, body };
}
