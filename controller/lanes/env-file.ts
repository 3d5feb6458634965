// Profile env files (`.secrets/*.env`): KEY=VALUE lines, read at job start. Values are returned, never logged.
import { readFile } from 'node:fs/promises';

const LINE = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/;

/** Parses dotenv-style text: comments and blank lines skipped, surrounding quotes removed. Throws naming the line. */
export function parseEnvText(text: string, source: string): Record<string, string> {
  const env: Record<string, string> = {};
  text.split(/\r?\n/).forEach((line, i) => {
    if (!line.trim() || line.trimStart().startsWith('#')) return;
    const m = LINE.exec(line);
    if (!m) throw new Error(`${source}:${i + 1}: expected KEY=VALUE`); // the line itself may hold a secret: not quoted
    let value = m[2]!;
    const quoted = /^(['"])(.*)\1$/.exec(value);
    if (quoted) value = quoted[2]!;
    env[m[1]!] = value;
  });
  return env;
}

export async function readEnvFiles(paths: readonly string[]): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const path of paths) {
    const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new Error(`env file ${path}: cannot read (${err.code})`);
    });
    Object.assign(env, parseEnvText(text, path));
  }
  return env;
}
