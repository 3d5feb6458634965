// The edits behind `factory repos`, on the config file's text: the yaml Document API decides what the file means
// after the edit, and the output is the original text with only the changed lines spliced in (see `validated`).
import { isDeepStrictEqual } from 'node:util';
import { isMap, isScalar, isSeq, parseDocument, Document, type Node, type YAMLSeq } from 'yaml';
import { parseConfig } from './config.js';

export type RepoEntry = { repo: string; profiles: string[]; maxConcurrent?: number };
export type EditResult = { ok: true; text: string } | { ok: false; problems: string[] };

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

const withNewline = (text: string) => (text === '' || text.endsWith('\n') ? text : `${text}\n`);

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
