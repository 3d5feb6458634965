// Profile env files (`.secrets/*.env`): KEY=VALUE lines, read at job start. Values are returned, never logged.
import { readFile } from 'node:fs/promises';
import { parseEnv } from 'node:util';

const ENTRY = /^\s*(?:export\s+)?[A-Za-z_][A-Za-z0-9_]*\s*=(.*)$/;

/** The quote a value opens and does not close on its own line: the lines up to the closing quote belong to it. */
function openQuote(value: string): string | undefined {
  const v = value.trimStart();
  const q = v[0];
  if (q !== '"' && q !== "'" && q !== '`') return undefined;
  return v.indexOf(q, 1) < 0 ? q : undefined;
}

/**
 * Parses dotenv text with Node's own rules (`util.parseEnv`, as `node --env-file` reads it): `# comment` after an
 * unquoted value is a comment, quoted values keep `#`, double quotes expand `\n`, quoted values may span lines.
 * Node skips a malformed line silently; a secrets file with one is more likely broken, so it throws naming the line.
 */
export function parseEnvText(text: string, source: string): Record<string, string> {
  let inside: string | undefined;
  text.split(/\r?\n/).forEach((line, i) => {
    if (inside !== undefined) {
      if (line.includes(inside)) inside = undefined;
      return;
    }
    if (!line.trim() || line.trimStart().startsWith('#')) return;
    const m = ENTRY.exec(line);
    if (!m) throw new Error(`${source}:${i + 1}: expected KEY=VALUE`); // the line itself may hold a secret: not quoted
    inside = openQuote(m[1]!);
  });
  return { ...parseEnv(text) } as Record<string, string>;
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
