// Where in factory.yml a problem is: zod names a path in the parsed data, an operator needs the line in the file.
import { isMap, isPair, isScalar, LineCounter, type Document, type Node } from 'yaml';
import type { z } from 'zod';

/** What a valid file should still change, at a path in the parsed data (a line is added where it is reported). */
export interface ConfigWarning {
  path: PropertyKey[];
  message: string;
}

export interface ConfigProblem {
  line?: number;
  path: string;
  message: string;
}

/** `repos[1].profiles[0]` from zod's path array. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)),
    '',
  );
}

/** The line of the deepest node the path reaches; for an unknown key, the line of that key. */
export function lineOf(
  doc: Document,
  lines: LineCounter,
  path: readonly PropertyKey[],
  key?: string,
): number | undefined {
  for (let depth = path.length; depth >= 0; depth -= 1) {
    const node = (depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true)) as Node | null | undefined;
    if (!node || !node.range) continue;
    if (key !== undefined && depth === path.length && isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === key);
      const at = pair && isScalar(pair.key) ? pair.key.range?.[0] : undefined;
      if (at !== undefined) return lines.linePos(at).line;
    }
    return lines.linePos(node.range[0]).line;
  }
  return undefined;
}

/** One problem per zod issue, an unknown key each on its own line. */
export function problemsFromIssues(
  issues: readonly z.core.$ZodIssue[],
  doc: Document,
  lines: LineCounter,
): ConfigProblem[] {
  return issues.flatMap((issue): ConfigProblem[] => {
    const path = formatPath(issue.path) || '(top level)';
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        line: lineOf(doc, lines, issue.path, key),
        path,
        message: `Unrecognized key: "${key}"`,
      }));
    }
    const message =
      // A missing key reaches a union (a duration: string or number) as "Invalid input": say what is wrong.
      (issue.code === 'invalid_type' || issue.code === 'invalid_union') && issue.input === undefined
        ? `required${requiredHint(issue.path)}`
        : issue.code === 'invalid_key'
          ? (issue.issues[0]?.message ?? issue.message)
          : issue.message.replace(/^Invalid input: /, '');
    return [{ line: lineOf(doc, lines, issue.path), path, message }];
  });
}

/** What a missing key that is easy to leave out goes with, so the message says what to add. */
function requiredHint(path: readonly PropertyKey[]): string {
  const [last, parent] = [path.at(-1), path.at(-2)];
  if (parent === 'warm' && last === 'idleTimeout')
    return ' with warm.min: how long an idle warm runner waits before it is replaced, e.g. idleTimeout: 30m';
  return '';
}

/** `factory.yml:12: repos[0].repo: expected …`: the compiler convention, so editors and terminals jump to the line. */
export function formatProblem(source: string, p: ConfigProblem): string {
  return `${source}${p.line === undefined ? '' : `:${p.line}`}: ${p.path}: ${p.message}`;
}
