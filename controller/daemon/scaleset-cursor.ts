// What a scale-set listener keeps across restarts, small and explicit: the scale set's id, the last message it
// handled, and the jobs it acquired that no runner has started yet (the service does not say them again to a new
// session). Written to a temp file, fsynced and renamed, so a kill -9 leaves the old cursor or the new one.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { JobMessage } from '../model/scaleset-message.js';

export interface ScaleSetCursor {
  scaleSetId: number | undefined;
  lastMessageId: number;
  /** Acquired or assigned, not yet started, by runner request id. */
  pending: Record<string, JobMessage>;
  /**
   * Started, not yet completed, with the runner that took each: a lane runner's credentials wait for its assignment
   * check, and a JobStarted handled just before a crash is said to the next start again, since nothing repeats it.
   */
  running: Record<string, JobMessage>;
}

export const emptyCursor = (): ScaleSetCursor => ({
  scaleSetId: undefined,
  lastMessageId: 0,
  pending: {},
  running: {},
});

export function readCursor(file: string): ScaleSetCursor {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return emptyCursor();
  }
  const saved = JSON.parse(text) as Partial<ScaleSetCursor>;
  return {
    scaleSetId: typeof saved.scaleSetId === 'number' ? saved.scaleSetId : undefined,
    lastMessageId: typeof saved.lastMessageId === 'number' ? saved.lastMessageId : 0,
    pending: saved.pending && typeof saved.pending === 'object' ? saved.pending : {},
    running: saved.running && typeof saved.running === 'object' ? saved.running : {},
  };
}

export function writeCursor(file: string, cursor: ScaleSetCursor): void {
  mkdirSync(dirname(file), { recursive: true });
  const temp = `${file}.tmp`;
  const fd = openSync(temp, 'w', 0o600);
  try {
    writeSync(fd, JSON.stringify(cursor));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, file);
}
