// The edits behind `factory repos`, on the config file's text: the yaml Document API decides what the file means
// after the edit, and the output is the original text with only the changed lines spliced in (see `validated`).
import { isDeepStrictEqual } from 'node:util';
import { isMap, isScalar, isSeq, parseDocument, Document, type Node, type YAMLMap, type YAMLSeq } from 'yaml';
import { parseConfig } from './config.js';

export type RepoEntry = { repo: string; profiles: string[]; maxConcurrent?: number };
export type RepoChange = { repo: string; profiles?: string[]; maxConcurrent?: number };
/** `absent`: the repo to change or remove is not in the file, so there is nothing to write (not an invalid result). */
export type EditResult = { ok: true; text: string } | { ok: false; problems: string[]; absent?: true };

function reposIndex(doc: Document, repo: string): number {
  const repos = doc.get('repos', true);
  if (!isSeq(repos)) return -1;
  return repos.items.findIndex((item) => isMap(item) && String(item.get('repo')).toLowerCase() === repo.toLowerCase());
}

/**
 * The edited file: the original text with only the changed lines spliced in, when that text means exactly what the
 * Document API edit means; otherwise the Document's own printing (comments and order kept, spacing normalised).
 */
function validated(doc: Document, spliced: string | undefined, source: string, original?: string): EditResult {
  const means = (text: string | undefined): text is string =>
    text !== undefined && isDeepStrictEqual(parseDocument(text).toJS(), doc.toJS());
  // Second best: reprint only the repos node, so the file's other lines (flow maps written by hand) stay as they were.
  const reposOnly = original === undefined ? undefined : reprintRepos(original, doc);
  const text = means(spliced) ? spliced : means(reposOnly) ? reposOnly : doc.toString();
  const result = parseConfig(text, source);
  return result.ok ? { ok: true, text } : { ok: false, problems: result.problems };
}

const lineStart = (text: string, offset: number) => text.lastIndexOf('\n', offset - 1) + 1;

/** The original text with the repos value replaced by the edited Document's printing of it. */
function reprintRepos(original: string, edited: Document): string | undefined {
  const before = parseDocument(original).get('repos', true) as Node | undefined;
  const after = edited.get('repos', true) as Node | undefined;
  if (!before?.range || !after) return undefined;
  const [start, end] = before.range;
  const column = start - lineStart(original, start);
  const printed = new Document(after).toString({ flowCollectionPadding: /\[ \S/.test(original) }).trimEnd();
  // A block sequence printed alone starts at column 0: indent its lines as the original's were.
  const indented = printed
    .split('\n')
    .map((line, i) => (i === 0 ? line : ' '.repeat(column) + line))
    .join('\n');
  return original.slice(0, start) + indented + original.slice(end);
}

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
  const lines = doc
    .toString({ flowCollectionPadding: /\[ \S/.test(text) })
    .trimEnd()
    .split('\n');
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
  if (existing >= 0)
    return { ok: false, problems: [`repos[${existing}].repo: ${entry.repo} is already configured; remove it first`] };

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
  return validated(doc, spliced, source, text);
}

/** Removes a repo entry by owner/name (case-insensitive, as GitHub compares them). */
export function removeRepo(text: string, repo: string, source = 'factory.yml'): EditResult {
  const p = parsed(text, source);
  if ('problems' in p) return { ok: false, problems: p.problems };
  const index = reposIndex(p.doc, repo);
  if (index < 0) return { ok: false, absent: true, problems: [`repos: ${repo} is not configured`] };
  const spliced = spliceRemove(text, p.doc.get('repos', true) as YAMLSeq, index);
  p.doc.deleteIn(['repos', index]);
  return validated(p.doc, spliced, source, text);
}

/** The printed form of a profiles list, flow style with the file's own bracket spacing. */
function profilesText(text: string, profiles: string[]): string {
  const doc = new Document(profiles);
  (doc.contents as YAMLSeq).flow = true;
  return doc.toString({ flowCollectionPadding: /\[ \S/.test(text) }).trimEnd();
}

/**
 * Changes an existing repo's profiles or maxConcurrent. Only the changed values' text is replaced; a key the entry
 * lacks goes on a new line under its other keys.
 */
export function setRepo(text: string, change: RepoChange, source = 'factory.yml'): EditResult {
  const p = parsed(text, source);
  if ('problems' in p) return { ok: false, problems: p.problems };
  const { doc } = p;
  const index = reposIndex(doc, change.repo);
  if (index < 0)
    return {
      ok: false,
      absent: true,
      problems: [`repos: ${change.repo} is not configured; add it with factory repos add`],
    };
  const item = (doc.get('repos', true) as YAMLSeq).items[index] as YAMLMap;
  const edits: { start: number; end: number; text: string }[] = [];
  const replace = (key: string, value: string, node: Node | undefined) => {
    if (node?.range && !(isSeq(node) && !node.flow))
      edits.push({ start: node.range[0], end: node.range[1], text: value });
    else if (node === undefined && !item.flow && item.range) {
      const column = item.range[0] - lineStart(text, item.range[0]);
      // After the line the entry's last value ends on, its trailing comment included.
      const end = item.range[1];
      const at = text[end - 1] === '\n' ? end : text.indexOf('\n', end) + 1 || text.length;
      edits.push({
        start: at,
        end: at,
        text: `${at === text.length && !text.endsWith('\n') ? '\n' : ''}${' '.repeat(column)}${key}: ${value}\n`,
      });
    } else edits.push({ start: -1, end: -1, text: '' }); // no safe splice: the validated() fallbacks print it
  };
  if (change.profiles !== undefined) {
    replace('profiles', profilesText(text, change.profiles), item.get('profiles', true) as Node | undefined);
    const node = doc.createNode(change.profiles);
    node.flow = true;
    item.set('profiles', node);
  }
  if (change.maxConcurrent !== undefined) {
    replace('maxConcurrent', String(change.maxConcurrent), item.get('maxConcurrent', true) as Node | undefined);
    item.set('maxConcurrent', change.maxConcurrent);
  }
  const spliced = edits.some((e) => e.start < 0)
    ? undefined
    : edits
        .sort((a, b) => b.start - a.start)
        .reduce((out, e) => out.slice(0, e.start) + e.text + out.slice(e.end), text);
  return validated(doc, spliced, source, text);
}
