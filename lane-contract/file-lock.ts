// Serialises writers of one host file: in this process by a promise chain, across processes (a second controller
// instance, an admin's script) by an O_EXCL lock file beside it.
import { open, stat, unlink } from 'node:fs/promises';

const chains = new Map<string, Promise<unknown>>();
const STALE_MS = 30_000;
const WAIT_MS = 10_000;

export async function withFileLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const previous = chains.get(path) ?? Promise.resolve();
  const run = previous.catch(() => {}).then(() => lockedRun(path, fn));
  chains.set(path, run);
  try {
    return await run;
  } finally {
    if (chains.get(path) === run) chains.delete(path);
  }
}

async function lockedRun<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const lock = `${path}.lock`;
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    try {
      const handle = await open(lock, 'wx', 0o600);
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // A holder that died leaves its lock behind; one older than any write-back takes is stale.
      const age = await stat(lock).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age > STALE_MS) await unlink(lock).catch(() => {});
      else if (Date.now() > deadline) throw new Error(`${lock}: held by another writer for over ${WAIT_MS / 1000}s`);
      else await new Promise((r) => setTimeout(r, 25));
    }
  }
  try {
    return await fn();
  } finally {
    await unlink(lock).catch(() => {});
  }
}
