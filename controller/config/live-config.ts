// The running config, held once. An edited config reaches every reader the same way: the parts that keep settings
// are told each change (applyConfig), the functions that look settings up read `current`. Nothing else keeps a copy.
import type { Config } from './config.js';
import { restartOnlyChanges } from './config-reload.js';

export interface ConfigReader {
  applyConfig(next: Config): void;
}

export class LiveConfig {
  private readonly readers: ConfigReader[] = [];

  constructor(private config: Config) {}

  get current(): Config {
    return this.config;
  }

  /** Tells these readers every change from now on, in the order they were added. */
  read(...readers: ConfigReader[]): void {
    this.readers.push(...readers);
  }

  /** The keys that differ but need a restart (then nothing is applied), or none once every reader has `next`. */
  apply(next: Config): string[] {
    const blocked = restartOnlyChanges(this.config, next);
    if (blocked.length > 0) return blocked;
    this.config = next;
    for (const reader of this.readers) reader.applyConfig(next);
    return [];
  }
}
