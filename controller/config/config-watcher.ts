// Notices a changed config file (or SIGHUP) and hands over the newly validated config, or the reasons it was refused,
// so a running controller can switch configs without a restart and keep the old one when the new one is bad.
import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile as readText } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { parseConfig, type ConfigResult } from './config.js';

export type ConfigChange = ConfigResult & { reason: 'file' | 'signal' };

export interface ConfigWatcher {
  /** Reads and validates the file now, as SIGHUP does. */
  reload(): Promise<void>;
  stop(): void;
}

export type WatchOptions = {
  /** Signal that forces a reload; false for none. */
  signal?: NodeJS.Signals | false;
  /** Saves arrive as bursts of events; one reload per burst. */
  debounceMs?: number;
  /** The filesystem edge; tests pass a slow one to prove reloads are handed over in order. */
  readFile?: (file: string) => Promise<string>;
};

const digest = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * Watches the file's folder, not the file: editors and `factory repos` replace the file by renaming a new one over
 * it, and a watch on the old inode would never fire again. Unchanged content (a touch) is not reported; a signal
 * always is.
 */
export async function watchConfig(
  file: string,
  onChange: (change: ConfigChange) => void,
  options: WatchOptions = {},
): Promise<ConfigWatcher> {
  const { signal = 'SIGHUP', debounceMs = 100, readFile = (path: string) => readText(path, 'utf8') } = options;
  let lastDigest: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let previous = Promise.resolve();

  const read = async (reason: ConfigChange['reason']) => {
    let text: string;
    try {
      text = await readFile(file);
    } catch (err) {
      // A deleted or unreadable file is a refused change like any other: the old config stays in force.
      if (!stopped)
        onChange({
          ok: false,
          problems: [`${file}: cannot read config (${(err as NodeJS.ErrnoException).code ?? String(err)})`],
          reason,
        });
      return;
    }
    const current = digest(text);
    if (stopped || (reason === 'file' && current === lastDigest)) return;
    lastDigest = current;
    onChange({ ...parseConfig(text, file), reason });
  };
  // One read at a time: an edit followed by SIGHUP must never hand over the older text last.
  const load = (reason: ConfigChange['reason']) => {
    const next = previous.then(() => read(reason));
    previous = next.catch(() => undefined);
    return next;
  };

  lastDigest = await readFile(file).then(digest, () => undefined);

  const watcher: FSWatcher = watch(dirname(file), (_event, name) => {
    if (name !== basename(file)) return;
    clearTimeout(timer);
    timer = setTimeout(() => void load('file'), debounceMs);
  });
  const onSignal = () => void load('signal');
  if (signal) process.on(signal, onSignal);

  return {
    reload: () => load('signal'),
    stop() {
      stopped = true;
      clearTimeout(timer);
      watcher.close();
      if (signal) process.off(signal, onSignal);
    },
  };
}
