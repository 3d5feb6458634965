// Writes the input and output tables of each actions/<name>/README.md from its action.yml, between the
// `<!-- action-docs:start -->` and `<!-- action-docs:end -->` markers; the rest of the README is prose by hand.
// `npm run docs:actions` rewrites them; test/actions/action-docs.test.ts fails when a README and its action.yml drift.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const START = '<!-- action-docs:start (generated from action.yml by npm run docs:actions) -->';
const END = '<!-- action-docs:end -->';

interface ActionYml {
  inputs?: Record<string, { description?: string; required?: boolean; default?: unknown }>;
  outputs?: Record<string, { description?: string }>;
}

const cell = (text: string) =>
  text
    .replace(/\|/g, '\\|')
    .replace(/\s*\n\s*/g, ' ')
    .trim();
const code = (text: string) => (text.includes('`') ? `\`\` ${text} \`\`` : `\`${text}\``);

/** The generated block: an inputs table and an outputs table, in action.yml's order. */
export function actionTables(actionYml: string): string {
  const action = parse(actionYml) as ActionYml;
  const lines = [
    START,
    '',
    '### Inputs',
    '',
    '| input | required | default | description |',
    '| --- | --- | --- | --- |',
  ];
  for (const [name, input] of Object.entries(action.inputs ?? {})) {
    const fallback = input.default === undefined || input.default === '' ? '' : code(String(input.default));
    lines.push(`| \`${name}\` | ${input.required ? 'yes' : 'no'} | ${fallback} | ${cell(input.description ?? '')} |`);
  }
  lines.push('', '### Outputs', '', '| output | description |', '| --- | --- |');
  for (const [name, output] of Object.entries(action.outputs ?? {}))
    lines.push(`| \`${name}\` | ${cell(output.description ?? '')} |`);
  return [...lines, '', END].join('\n');
}

/** The README with its generated block replaced; throws when the markers are missing. */
export function withTables(readme: string, tables: string, where: string): string {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${where}: no "${START}" … "${END}" block to write the tables into`);
  return readme.slice(0, start) + tables + readme.slice(end + END.length);
}

export async function actionDirs(root: string): Promise<string[]> {
  const names = await readdir(join(root, 'actions'));
  const dirs: string[] = [];
  for (const name of names) {
    if (
      await readFile(join(root, 'actions', name, 'action.yml')).then(
        () => true,
        () => false,
      )
    )
      dirs.push(join('actions', name));
  }
  return dirs.sort();
}

async function main(): Promise<void> {
  const root = fileURLToPath(new URL('..', import.meta.url));
  for (const dir of await actionDirs(root)) {
    const readmePath = join(root, dir, 'README.md');
    const readme = await readFile(readmePath, 'utf8');
    const updated = withTables(
      readme,
      actionTables(await readFile(join(root, dir, 'action.yml'), 'utf8')),
      `${dir}/README.md`,
    );
    if (updated !== readme) {
      await writeFile(readmePath, updated);
      console.log(`updated ${dir}/README.md`);
    }
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
