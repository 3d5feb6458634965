// `extra-args` arrive as one string; they become an argv array for spawn, never a shell command line.

/** Splits on whitespace, keeping single- or double-quoted runs together (no escapes, no expansion). */
export function splitArguments(text: string): string[] {
  const args: string[] = [];
  const pattern = /"([^"]*)"|'([^']*)'|([^\s"']+)/g;
  let current: string | undefined;
  let lastEnd = -1;
  let covered = 0;
  for (const m of text.matchAll(pattern)) {
    if (text.slice(covered, m.index).trim() !== '') break;
    const piece = m[1] ?? m[2] ?? m[3]!;
    // Adjacent pieces (`--flag="a b"`) belong to one argument.
    if (current !== undefined && m.index === lastEnd) current += piece;
    else {
      if (current !== undefined) args.push(current);
      current = piece;
    }
    lastEnd = covered = m.index + m[0].length;
  }
  const rest = text.slice(covered).trim();
  if (rest !== '') throw new Error(`has an unbalanced quote near ${JSON.stringify(rest.slice(0, 20))}`);
  if (current !== undefined) args.push(current);
  return args;
}
