// The docs are held to the code: every factory.yml snippet passes the controller's own parser, every `factory …`
// command line names commands and options the CLI has, every relative link and anchor resolves, and every
// repository path a doc names exists. The workflows the docs show are linted with the others (test/workflows/).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { program } from '../../controller/commands/cli.js';
import { configFieldsSchema, parseConfig } from '../../controller/config/config.js';
import {
  codeSpans,
  commandProblems,
  commandsIn,
  completeExcerpt,
  configShaped,
  fencedBlocks,
  headingAnchors,
  isExcerpt,
  relativeLinks,
  repoPaths,
} from '../support/doc-check.js';
import { DOCS, read, root } from '../support/doc-files.js';

const CONFIG_KEYS = new Set(Object.keys(configFieldsSchema.shape));
const SHELL = new Set(['sh', 'bash', 'shell', 'console']);
/** Files a command or the reader makes, which git ignores. */
const GENERATED = new Set(['bench/results.json', 'actions/agent-lane/.env']);
const silentIo = { stdout: () => {}, stderr: () => {} };

/** Every factory.yml snippet in a doc: `file:line` and the problems the controller's parser finds in it. */
function configSnippetProblems(file: string, text: string): { where: string; problems: string[] }[] {
  return fencedBlocks(text)
    .filter((b) => /^ya?ml$/.test(b.lang) && (configShaped(b.body, CONFIG_KEYS) || isExcerpt(b.body)))
    .map((b) => {
      const where = `${file}:${b.line}`;
      const whole = /^github:/m.test(b.body) && /^repos:/m.test(b.body);
      if (!whole && !isExcerpt(b.body))
        return {
          where,
          problems: ['reads as factory.yml but has no github and repos: mark it "# factory.yml (excerpt)"'],
        };
      if (!configShaped(b.body, CONFIG_KEYS)) return { where, problems: ['marked as factory.yml but has other keys'] };
      const result = parseConfig(whole ? b.body : completeExcerpt(b.body), where);
      // A warning counts: every lane profile the docs show runs its agent as its own user.
      const warnings = result.ok ? (result.warnings ?? []).map((w) => `warning: ${w.path}: ${w.message}`) : [];
      return { where, problems: result.ok ? warnings : result.problems };
    });
}

function commandLines(text: string): { line: string; where: number }[] {
  const fenced = fencedBlocks(text).flatMap((b) =>
    commandsIn(b.body, SHELL.has(b.lang)).map((line) => ({ line, where: b.line })),
  );
  const inline = codeSpans(text)
    .filter((s) => /^(factory|node bin\/factory\.js) [a-z-]/.test(s.code))
    .flatMap((s) => commandsIn(s.code).map((line) => ({ line, where: s.line })));
  return [...fenced, ...inline];
}

describe('the docs', () => {
  it('read every doc: README, docs/ and each action README', () => {
    expect(DOCS).toEqual(
      expect.arrayContaining([
        'README.md',
        'docs/configuration.md',
        'docs/limitations.md',
        'actions/agent-lane/README.md',
      ]),
    );
  });

  it('every factory.yml snippet passes the controller parser, whole or as a marked excerpt', () => {
    const all = DOCS.flatMap((file) => configSnippetProblems(file, read(file)));
    expect(all.length, 'config snippets found').toBeGreaterThanOrEqual(8);
    expect(all.filter((s) => s.problems.length > 0)).toEqual([]);
  });

  it('every `factory …` command line names commands and options the CLI has', () => {
    const cli = program(silentIo);
    const lines = DOCS.flatMap((file) => commandLines(read(file)).map((c) => ({ ...c, file })));
    expect(lines.length, 'command lines found').toBeGreaterThanOrEqual(30);
    const bad = lines
      .map(({ file, where, line }) => ({ at: `${file}:${where}`, line, problems: commandProblems(cli, line) }))
      .filter((c) => c.problems.length > 0);
    expect(bad).toEqual([]);
  });

  it('every relative link resolves to a file, and to a heading when it names one', () => {
    const broken: string[] = [];
    for (const file of DOCS) {
      for (const { target, line } of relativeLinks(read(file))) {
        const [path, anchor] = target.split('#') as [string, string | undefined];
        const resolved = path ? join(dirname(join(root, file)), path) : join(root, file);
        if (!existsSync(resolved)) broken.push(`${file}:${line}: ${target}: no such file`);
        else if (anchor && resolved.endsWith('.md') && !headingAnchors(readFileSync(resolved, 'utf8')).has(anchor))
          broken.push(`${file}:${line}: ${target}: no heading #${anchor} in ${relative(root, resolved)}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('every repository path a doc names exists', () => {
    const missing = DOCS.flatMap((file) =>
      repoPaths(read(file))
        .filter(({ path }) => !GENERATED.has(path) && !existsSync(join(root, path)))
        .map(({ path, line }) => `${file}:${line}: ${path}`),
    );
    expect(missing).toEqual([]);
  });
});

describe('the doc checks catch', () => {
  const cli = program(silentIo);

  it('an unknown command, an unknown option and an option of another command', () => {
    expect(commandProblems(cli, 'factory validte')).toEqual([expect.stringContaining('validte: no such command')]);
    expect(commandProblems(cli, 'factory repos add x/y --max-concurent 2')).toEqual([
      expect.stringContaining('--max-concurent: no such option of "factory repos add"'),
    ]);
    expect(commandProblems(cli, 'factory status --dry-run')).toEqual([expect.stringContaining('--dry-run')]);
    expect(commandProblems(cli, 'factory repos add\\|set\\|frob OWNER/NAME')).toEqual([
      expect.stringContaining('frob: no such command of "factory repos"'),
    ]);
  });

  it('and passes real ones with placeholders, brackets, values and global options', () => {
    for (const line of [
      'factory doctor --config F [--profile P] [--agent] [--disk-threshold 85]',
      'factory repos add\\|set\\|remove OWNER/NAME',
      'factory images build --tag 2026.11.25 --base factory/base:0.1.0 --network host',
      'factory --version',
      'factory status --job 1000 --json',
    ])
      expect(commandProblems(cli, line), line).toEqual([]);
  });

  it('a config excerpt with a wrong field, and one that is neither whole nor marked', () => {
    const wrong =
      '```yaml\n# factory.yml (excerpt)\nprofiles:\n  ci:\n    labels: [ci]\n    image: x\n    cpus: 0\n```\n';
    const unmarked = '```yaml\nprofiles:\n  ci:\n    labels: [ci]\n    image: x\n```\n';
    const workflow = '```yaml\non: push\njobs: {}\n```\n';
    expect(configSnippetProblems('w.md', wrong)).toEqual([
      { where: 'w.md:2', problems: [expect.stringContaining('profiles.ci.cpus')] },
    ]);
    expect(configSnippetProblems('u.md', unmarked)[0]!.problems).toEqual([expect.stringContaining('mark it')]);
    expect(configSnippetProblems('f.md', workflow)).toEqual([]);
  });

  it('a link to a missing heading', () => {
    expect(headingAnchors('# A page\n## The trust gate (`factory validate`, and again)\n## Tests\n## Tests\n')).toEqual(
      new Set(['a-page', 'the-trust-gate-factory-validate-and-again', 'tests', 'tests-1']),
    );
    expect(
      relativeLinks('see [x](a.md#b) and [web](https://x.y) and `[no](code.md)`\n```\n[no](fenced.md)\n```'),
    ).toEqual([{ target: 'a.md#b', line: 1 }]);
  });
});
