// The change under review, captured for exactly one commit: a unified diff split per file, capped in size, with
// the right-side lines each file's hunks touch (GitHub only accepts review comments on those).

export interface FileDiff {
  path: string;
  patch: string;
  /** New-file line numbers inside the hunks: where a line comment may go. */
  commentable: Set<number>;
}

export interface DiffCapture {
  included: FileDiff[];
  /** Files left out because the cap was reached or the file alone exceeded it. */
  skipped: Array<{ path: string; bytes: number }>;
}

export function splitDiff(diff: string): FileDiff[] {
  const files: FileDiff[] = [];
  for (const chunk of diff.split(/^(?=diff --git )/m)) {
    if (!chunk.startsWith('diff --git ')) continue;
    const plus = /^\+\+\+ (?:b\/)?(.+)$/m.exec(chunk);
    const header = /^diff --git a\/(.+?) b\/(.+)$/m.exec(chunk);
    const path = plus && plus[1] !== '/dev/null' ? plus[1]! : (header?.[2] ?? '?');
    files.push({ path, patch: chunk, commentable: rightSideLines(chunk) });
  }
  return files;
}

function rightSideLines(patch: string): Set<number> {
  const lines = new Set<number>();
  let next: number | undefined;
  for (const line of patch.split('\n')) {
    const hunk = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(line);
    if (hunk) {
      next = Number(hunk[1]);
      continue;
    }
    if (next === undefined || line.startsWith('\\')) continue;
    if (line.startsWith('+') || line.startsWith(' ')) lines.add(next++);
  }
  return lines;
}

/** Keeps whole files in diff order until `maxBytes`; a file that does not fit is listed as skipped. */
export function capDiff(files: FileDiff[], maxBytes: number): DiffCapture {
  const capture: DiffCapture = { included: [], skipped: [] };
  let used = 0;
  for (const file of files) {
    const bytes = Buffer.byteLength(file.patch);
    if (used + bytes > maxBytes) capture.skipped.push({ path: file.path, bytes });
    else {
      capture.included.push(file);
      used += bytes;
    }
  }
  return capture;
}
