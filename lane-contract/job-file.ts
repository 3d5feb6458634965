// Reading a file a job could have written. The job owns its folder: it can swap a credential copy for a FIFO (an
// open that never returns), a symlink to /dev/zero or the host's own files, or a file of gigabytes. Whoever reads
// it (the controller's cleanup and startup sweep, the action after the agent) must get a bounded answer at once.
import { constants, type Stats } from 'node:fs';
import { lstat, open } from 'node:fs/promises';

/** Far above any credential file the CLIs write (a few KiB), far below what would cost the reader. */
export const JOB_FILE_LIMIT = 1024 * 1024;

export type JobFile = { kind: 'text'; text: string } | { kind: 'missing' } | { kind: 'unsafe'; reason: string };

const what = (s: Stats) =>
  s.isSymbolicLink()
    ? 'symlink'
    : s.isFIFO()
      ? 'FIFO'
      : s.isDirectory()
        ? 'directory'
        : s.isSocket()
          ? 'socket'
          : s.isCharacterDevice() || s.isBlockDevice()
            ? 'device'
            : 'special file';

export async function readJobFile(path: string, limit = JOB_FILE_LIMIT): Promise<JobFile> {
  const before = await lstat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
    throw err;
  });
  if (!before) return { kind: 'missing' };
  if (!before.isFile()) return { kind: 'unsafe', reason: `${path} is a ${what(before)}, not a regular file` };
  if (before.size > limit)
    return { kind: 'unsafe', reason: `${path} is ${before.size} bytes, over the ${limit}-byte limit` };
  // O_NOFOLLOW and O_NONBLOCK because the job may swap the file between the lstat and the open.
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(
    (err: NodeJS.ErrnoException) => err,
  );
  if (handle instanceof Error) {
    if (handle.code === 'ENOENT') return { kind: 'missing' };
    return { kind: 'unsafe', reason: `${path} could not be opened safely (${handle.code ?? handle.message})` };
  }
  try {
    const now = await handle.stat();
    if (!now.isFile()) return { kind: 'unsafe', reason: `${path} is a ${what(now)}, not a regular file` };
    const buffer = Buffer.alloc(limit + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > limit) return { kind: 'unsafe', reason: `${path} grew over the ${limit}-byte limit while read` };
    }
    return { kind: 'text', text: buffer.subarray(0, length).toString('utf8') };
  } finally {
    await handle.close();
  }
}

/** The text, or undefined when the file is missing or unsafe: for readers that only mask what they find. */
export async function readJobText(path: string): Promise<string | undefined> {
  const file = await readJobFile(path).catch(() => undefined);
  return file?.kind === 'text' ? file.text : undefined;
}
