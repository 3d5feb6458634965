// `factory repos add|remove|list`: edits factory.yml in place (comments and order kept), validates the result with
// the controller's own parser, and refuses to write a file the controller would refuse to start on.
import { readFile } from 'node:fs/promises';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import { isMap, isScalar, isSeq, parseDocument, Document, type Node, type YAMLSeq } from 'yaml';
import { replaceFileAtomically } from './atomic-file.js';
import { parseConfig, type RepoConfig } from './config.js';

export type RepoEntry = { repo: string; profiles: string[]; maxConcurrent?: number };
export type EditResult = { ok: true; text: string } | { ok: false; problems: string[] };
/** Each call writes one message without its trailing newline, as cli.ts's Io adds it. */
export type CommandIO = { stdout: (s: string) => void; stderr: (s: string) => void };

/** The file edge: reading and atomically replacing the config file. */
export interface ConfigFile {
  read(path: string): Promise<string>;
  replace(path: string, text: string): Promise<void>;
}

function reposIndex(doc: Document, repo: string): number {
  const repos = doc.get('repos', true);
  if (!isSeq(repos)) return -1;
  return repos.items.findIndex((item) => isMap(item) && String(item.get('repo')).toLowerCase() === repo.toLowerCase());
}

/**
 * The edited file: the original text with only the changed lines spliced in, when that text means exactly what the
 * Document API edit means; otherwise the Document's own printing (comments and order kept, spacing normalised).
 */
function validated(doc: Document, spliced: string | undefined, source: string): EditResult {
  const text = spliced !== undefined && isDeepStrictEqual(parseDocument(spliced).toJS(), doc.toJS()) ? spliced : doc.toString();
  const result = parseConfig(text, source);
  return result.ok ? { ok: true, text } : { ok: false, problems: result.problems };
}

const lineStart = (text: string, offset: number) => text.lastIndexOf('\n', offset - 1) + 1;

/** The `  - ` before a block sequence item, or undefined for flow sequences and odd layouts. */
function itemPrefix(text: string, item: Node): string | undefined {
  const start = item.range?.[0];
  if (start === undefined) return undefined;
  const prefix = text.slice(lineStart(text, start), start);
  return /^ *- +$/.test(prefix) ? prefix : undefined;
}

/** The node a new entry becomes: a block map with the profiles inline, as people write them. */
function entryNode(doc: Document, entry: RepoEntry): Node {
  const node = doc.createNode({ repo: entry.repo, profiles: entry.profiles, maxConcurrent: entry.maxConcurrent });
  const profiles = isMap(node) ? node.get('profiles', true) : undefined;
  if (isSeq(profiles)) profiles.flow = true;
  return node;
}

function itemBlock(text: string, entry: RepoEntry, prefix: string): string {
  const doc = new Document();
  doc.contents = entryNode(doc, entry);
  const lines = doc.toString({ flowCollectionPadding: /\[ \S/.test(text) }).trimEnd().split('\n');
  return lines.map((line, i) => (i === 0 ? prefix : ' '.repeat(prefix.length)) + line).join('\n') + '\n';
}

const withNewline = (text: string) => (text === '' || text.endsWith('\n') ? text : `${text}`);

function spliceAdd(text: string, repos: YAMLSeq | undefined, entry: RepoEntry): string | undefined {
  if (repos === undefined) return `${withNewline(text)}repos:\n${itemBlock(text, entry, '  - ')}`;
  const last = repos.items.at(-1) as Node | undefined;
  const prefix = last && itemPrefix(text, last);
  if (!last || !prefix || repos.flow) return undefined;
  const end = last.range![2];
  return withNewline(text.slice(0, end)) + itemBlock(text, entry, prefix) + text.slice(end);
}

function spliceRemove(text: string, repos: YAMLSeq, index: number): string | undefined {
  const item = repos.items[index] as Node;
  const prefix = itemPrefix(text, item);
  if (!prefix || repos.flow) return undefined;
  const dashColumn = prefix.indexOf('-');
  let start = lineStart(text, item.range![0]);
  // Comment lines right above an item, indented like it, describe that item and go with it.
  while (start > 0) {
    const above = lineStart(text, start - 1);
    const line = text.slice(above, start - 1);
    if (!new RegExp(`^ {${dashColumn},}#`).test(line)) break;
    start = above;
  }
  return text.slice(0, start) + text.slice(item.range![2]);
}

function parsed(text: string, source: string): { doc: Document } | { problems: string[] } {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    const result = parseConfig(text, source);
    return { problems: result.ok ? doc.errors.map((e) => `${source}: ${e.message}`) : result.problems };
  }
  return { doc };
}

/** Appends a repo entry; the new file must validate as a whole. */
export function addRepo(text: string, entry: RepoEntry, source = 'factory.yml'): EditResult {
  const p = parsed(text, source);
  if ('problems' in p) return { ok: false, problems: p.problems };
  const { doc } = p;
  const existing = reposIndex(doc, entry.repo);
  if (existing >= 0) return { ok: false, problems: [`repos[${existing}].repo: ${entry.repo} is already configured; remove it first`] };

  const node = entryNode(doc, entry);
  const current = doc.get('repos', true);
  let repos = current;
  if (repos === undefined || (isScalar(repos) && repos.value === null)) {
    repos = doc.createNode([]);
    doc.set('repos', repos);
  }
  if (!isSeq(repos)) return { ok: false, problems: ['repos: expected a list of repos'] };
  const spliced = spliceAdd(text, current === undefined ? undefined : repos, entry);
  repos.add(node);
  return validated(doc, spliced, source);
}

/** Removes a repo entry by owner/name (case-insensitive, as GitHub compares them). */
export function removeRepo(text: string, repo: string, source = 'factory.yml'): EditResult {
  const p = parsed(text, source);
  if ('problems' in p) return { ok: false, problems: p.problems };
  const index = reposIndex(p.doc, repo);
  if (index < 0) return { ok: false, problems: [`repos: ${repo} is not configured`] };
  const spliced = spliceRemove(text, p.doc.get('repos', true) as YAMLSeq, index);
  p.doc.deleteIn(['repos', index]);
  return validated(p.doc, spliced, source);
}

export function formatRepoTable(repos: readonly RepoConfig[]): string {
  const rows = [['REPO', 'PROFILES', 'MAX CONCURRENT'], ...repos.map((r) => [r.repo, r.profiles.join(','), String(r.maxConcurrent)])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n');
}

export const fsConfigFile: ConfigFile = { read: (path) => readFile(path, 'utf8'), replace: replaceFileAtomically };

const USAGE = `usage:
  factory repos add OWNER/NAME --profiles P1,P2 [--max-concurrent N] [--config F]
  factory repos remove OWNER/NAME [--config F]
  factory repos list [--config F]`;

export async function reposCommand(argv: string[], io: CommandIO, files: ConfigFile = fsConfigFile): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c', default: 'factory.yml' },
        profiles: { type: 'string' },
        'max-concurrent': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    io.stderr(`factory repos: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = args;
  const [verb, repo, ...extra] = positionals;
  if (values.help) {
    io.stdout(USAGE);
    return 0;
  }
  const file = values.config;
  if (verb === 'list' && repo === undefined) return list(file, io, files);
  if ((verb === 'add' || verb === 'remove') && repo !== undefined && extra.length === 0) {
    let text: string;
    try {
      text = await files.read(file);
    } catch (err) {
      io.stderr(`factory repos ${verb}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
      return 1;
    }
    let result: EditResult;
    if (verb === 'add') {
      const entry = addArguments(repo, values.profiles, values['max-concurrent']);
      if ('problem' in entry) {
        io.stderr(`factory repos add: ${entry.problem}\n${USAGE}`);
        return 2;
      }
      result = addRepo(text, entry, file);
    } else {
      result = removeRepo(text, repo, file);
    }
    if (!result.ok) {
      io.stderr(`factory repos ${verb}: refusing to write ${file}, the result would be invalid:\n${result.problems.map((p) => `  ${p}`).join('\n')}`);
      return 1;
    }
    await files.replace(file, result.text);
    io.stdout(`${verb === 'add' ? 'added' : 'removed'} ${repo} ${verb === 'add' ? 'to' : 'from'} ${file}`);
    return 0;
  }
  io.stderr(`factory repos: expected add, remove or list\n${USAGE}`);
  return 2;
}

function addArguments(repo: string, profiles: string | undefined, maxConcurrent: string | undefined): RepoEntry | { problem: string } {
  const names = (profiles ?? '').split(',').map((p) => p.trim()).filter(Boolean);
  if (names.length === 0) return { problem: '--profiles is required, e.g. --profiles ci,codex' };
  if (maxConcurrent === undefined) return { repo, profiles: names };
  if (!/^\d+$/.test(maxConcurrent)) return { problem: `--max-concurrent expects a whole number, got ${JSON.stringify(maxConcurrent)}` };
  return { repo, profiles: names, maxConcurrent: Number(maxConcurrent) };
}

async function list(file: string, io: CommandIO, files: ConfigFile): Promise<number> {
  let text: string;
  try {
    text = await files.read(file);
  } catch (err) {
    io.stderr(`factory repos list: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    return 1;
  }
  const result = parseConfig(text, file);
  if (!result.ok) {
    io.stderr(`factory repos list: ${file} is invalid:\n${result.problems.map((p) => `  ${p}`).join('\n')}`);
    return 1;
  }
  io.stdout(formatRepoTable(result.config.repos));
  return 0;
}
