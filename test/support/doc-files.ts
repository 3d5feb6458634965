// The docs a reader reads: the README, docs/ and each action's README, by path from the repository root.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../..', import.meta.url));
export const DOCS = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
  ...readdirSync(join(root, 'actions'))
    .map((a) => `actions/${a}/README.md`)
    .filter((f) => existsSync(join(root, f))),
].sort();
export const read = (file: string) => readFileSync(join(root, file), 'utf8');
