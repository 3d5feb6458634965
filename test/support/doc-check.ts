// Reads the docs the way a reader copies from them: fenced blocks, `factory …` command lines, links and paths, so a
// test can hold each to what the code accepts. Pure functions over text; the test supplies the CLI and the parser.
import type { Command, Option } from 'commander';
import { isMap, parse, parseDocument, stringify } from 'yaml';

export interface Block {
  lang: string;
  body: string;
  /** 1-based line of the block's first body line in its file. */
  line: number;
}

/** Fenced code blocks, indented ones (inside list items) included, with their indentation removed. */
export function fencedBlocks(text: string): Block[] {
  const blocks: Block[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,})(\S*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const [, indent, fence, lang] = open as unknown as [string, string, string, string];
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !new RegExp(`^\\s*${fence}\\s*$`).test(lines[j]!)) {
      body.push(lines[j]!.startsWith(indent) ? lines[j]!.slice(indent.length) : lines[j]!.trimStart());
      j++;
    }
    blocks.push({ lang, body: body.join('\n'), line: i + 2 });
    i = j;
  }
  return blocks;
}

/** The text outside fenced blocks, line numbers kept (fenced lines become empty). */
export function prose(text: string): string {
  let fence: string | undefined;
  return text
    .split('\n')
    .map((line) => {
      const m = /^\s*(`{3,})/.exec(line);
      if (m && (!fence || m[1] === fence)) {
        fence = fence ? undefined : m[1];
        return '';
      }
      return fence ? '' : line;
    })
    .join('\n');
}

/** Inline code spans in prose, with their line. */
export function codeSpans(text: string): { code: string; line: number }[] {
  const spans: { code: string; line: number }[] = [];
  prose(text)
    .split('\n')
    .forEach((line, i) => {
      for (const m of line.matchAll(/(`+)(.+?)\1/g)) spans.push({ code: m[2]!.trim(), line: i + 1 });
    });
  return spans;
}

// ---- factory.yml snippets

export const EXCERPT_MARK = '# factory.yml (excerpt)';

/** A snippet whose top-level keys are all keys of factory.yml reads as config, whole or an excerpt. */
export function configShaped(body: string, configKeys: ReadonlySet<string>): boolean {
  const doc = parseDocument(body);
  if (doc.errors.length > 0 || !isMap(doc.contents) || doc.contents.items.length === 0) return false;
  return doc.contents.items.every((pair) => configKeys.has(String((pair.key as { value?: unknown })?.value)));
}

export const isExcerpt = (body: string) => body.trimStart().startsWith(EXCERPT_MARK);

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * An excerpt laid over a minimal valid file: sections the excerpt has replace the base's, except that maps (profiles,
 * github, status) are merged one level deep so an excerpt's profiles join the base's.
 */
export function completeExcerpt(body: string): string {
  const base: Record<string, unknown> = {
    github: { auth: { tokenEnv: 'DOCS_TOKEN' }, webhook: { secret: { env: 'DOCS_WEBHOOK_SECRET' } } },
    profiles: { 'docs-base': { labels: ['docs-base'], image: 'docs/base:1' } },
    repos: [{ repo: 'docs/base', profiles: ['docs-base'] }],
  };
  const excerpt = parse(body) as Record<string, unknown>;
  for (const [key, value] of Object.entries(excerpt)) {
    base[key] = isObject(value) && isObject(base[key]) ? { ...base[key], ...value } : value;
  }
  return stringify(base);
}

// ---- `factory …` command lines

/**
 * Command lines in a shell block or an inline span: `factory …` or `node bin/factory.js …`, up to a comment or `&&`.
 * In other blocks (a program's output) only lines with a `$ ` prompt are commands.
 */
export function commandsIn(text: string, shell = true): string[] {
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    if (!shell && !raw.startsWith('$ ')) continue;
    const line = shell ? raw : raw.slice(2);
    for (const m of line.matchAll(/(?:^|[\s;&(`$])(?:node bin\/factory\.js|factory)\s+(?=[a-z-])([^\n]*)/g)) {
      const rest = m[1]!.split(/\s#|\s&&|\s\|\|?\s|;|\s>|`/)[0]!.trim();
      if (rest) out.push(`factory ${rest}`);
    }
  }
  return out;
}

const isPlaceholder = (token: string) => /^[A-Z][A-Z_/.-]*$/.test(token) || /^<.*>$/.test(token) || token === '...';

function findOption(cmds: readonly Command[], flag: string): Pick<Option, 'required' | 'optional'> | undefined {
  // Every command answers -h/--help; commander keeps that option apart from .options.
  if (flag === '-h' || flag === '--help') return { required: false, optional: false };
  for (const cmd of cmds) {
    for (let c: Command | null = cmd; c; c = c.parent) {
      const found = c.options.find((o) => o.long === flag || o.short === flag);
      if (found) return found;
    }
  }
  return undefined;
}

/**
 * Problems of one documented command line against the real program: each subcommand exists, each flag exists on it
 * (or on a parent), `a|b` alternatives and `[--optional]` brackets included. Arguments and placeholders pass.
 */
export function commandProblems(root: Command, line: string): string[] {
  const tokens = line.replace(/\\\|/g, '|').replace(/[[\]]/g, ' ').split(/\s+/).filter(Boolean).slice(1);
  const problems: string[] = [];
  let cmds: Command[] = [root];
  let argsStarted = false;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token.startsWith('-')) {
      const flag = token.split('=')[0]!;
      const option = findOption(cmds, flag);
      if (!option) problems.push(`${flag}: no such option of "${cmds.map(pathOf).join('|')}"`);
      else if ((option.required || option.optional) && !token.includes('=') && !tokens[i + 1]?.startsWith('-')) i++;
      continue;
    }
    if (argsStarted || isPlaceholder(token)) {
      argsStarted = true;
      continue;
    }
    const parents = cmds.filter((c) => c.commands.length > 0);
    if (parents.length === 0) {
      argsStarted = true;
      continue;
    }
    const next: Command[] = [];
    for (const name of token.split('|')) {
      const sub = parents.flatMap((p) => p.commands).find((c) => c.name() === name || c.aliases().includes(name));
      if (sub) next.push(sub);
      else if (name !== 'help') problems.push(`${name}: no such command of "${parents.map(pathOf).join('|')}"`);
    }
    if (next.length === 0) break;
    cmds = next;
  }
  return problems;
}

const pathOf = (cmd: Command): string => (cmd.parent ? `${pathOf(cmd.parent)} ${cmd.name()}` : cmd.name());

// ---- links and anchors

/** Relative link targets in prose (`[text](path#anchor)`), with their line; web and mail links are skipped. */
export function relativeLinks(text: string): { target: string; line: number }[] {
  const links: { target: string; line: number }[] = [];
  prose(text)
    .split('\n')
    .forEach((line, i) => {
      const withoutCode = line.replace(/(`+).+?\1/g, '');
      for (const m of withoutCode.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
        if (!/^[a-z][a-z0-9+.-]*:/i.test(m[1]!)) links.push({ target: m[1]!, line: i + 1 });
      }
    });
  return links;
}

/** The anchors GitHub gives a document's headings: lower case, punctuation dropped, spaces to hyphens, -1 for repeats. */
export function headingAnchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const line of prose(text).split('\n')) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const slug = m[1]!
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return anchors;
}

/** Repository paths named in code spans (`test/daemon/x.test.ts`), placeholders (`<name>`, `*`, `NAME`) left out. */
export function repoPaths(text: string): { path: string; line: number }[] {
  // `.github/…` paths in the docs are usually the calling repo's files, and `actions/checkout` is GitHub's action: only
  // files (with an extension) and folders (with a trailing slash) under the project's own top-level folders count.
  const roots =
    /^(actions|bench|bin|controller|deploy|docs|examples|images|lane-contract|schema|scripts|test|workflows)\//;
  return codeSpans(text)
    .map(({ code, line }) => ({ path: code.replace(/:\d+$/, ''), line }))
    .filter(({ path }) => roots.test(path) && /^[\w./-]+(\.\w+|\/)$/.test(path) && !/[A-Z]{3,}|\.\.\./.test(path));
}
