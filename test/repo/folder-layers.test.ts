// The folders are floors (docs/architecture.md): a folder imports only folders below it, so no two folders import
// each other and no longer circle of folders closes. A file's folder is its room under controller/ or actions/
// (controller/github/standin/ belongs to github/), or lane-contract/.
import { describe, expect, it } from 'vitest';
import { importCycles, importGraph } from '../support/import-graph.js';

const folderOf = (file: string) => {
  const [top, room] = file.split('/');
  return top === 'controller' || top === 'actions' ? `${top}/${room}` : top!;
};

/** Folder to folder, each edge with one import that makes it (for the message). */
function folderGraph(files: Map<string, string[]>): Map<string, Map<string, string>> {
  const folders = new Map<string, Map<string, string>>();
  for (const [file, deps] of files) {
    const from = folderOf(file);
    const edges = folders.get(from) ?? new Map<string, string>();
    folders.set(from, edges);
    for (const dep of deps) {
      const to = folderOf(dep);
      if (to !== from && !edges.has(to)) edges.set(to, `${file} -> ${dep}`);
    }
  }
  return folders;
}

/** Each pair of folders that import each other, with an import each way. */
function mutualPairs(folders: Map<string, Map<string, string>>): string[] {
  const pairs: string[] = [];
  for (const [a, edges] of folders)
    for (const [b, why] of edges) {
      const back = folders.get(b)?.get(a);
      if (back && a < b) pairs.push(`${a} <-> ${b} (${why}; ${back})`);
    }
  return pairs.sort();
}

const plain = (folders: Map<string, Map<string, string>>) =>
  new Map([...folders].map(([f, edges]) => [f, [...edges.keys()]]));

describe('folder layers', () => {
  it('reports two folders that import each other, and a longer circle', () => {
    const files = new Map([
      ['controller/a/x.ts', ['controller/b/y.ts']],
      ['controller/b/y.ts', ['controller/b/z.ts']],
      ['controller/b/z.ts', ['controller/a/w.ts', 'controller/c/v.ts']],
      ['controller/c/v.ts', ['lane-contract/u.ts']],
      ['lane-contract/u.ts', ['controller/b/standin/t.ts']],
    ]);
    const folders = folderGraph(files);
    expect(mutualPairs(folders)).toEqual([
      'controller/a <-> controller/b (controller/a/x.ts -> controller/b/y.ts; controller/b/z.ts -> controller/a/w.ts)',
    ]);
    expect(importCycles(plain(folders))).toContain('controller/b -> controller/c -> lane-contract -> controller/b');
  });

  it('has no two folders importing each other', () => {
    const folders = folderGraph(importGraph());
    expect(folders.size).toBeGreaterThan(10);
    expect(mutualPairs(folders)).toEqual([]);
  });

  it('has no circle of folders', () => {
    expect(importCycles(plain(folderGraph(importGraph())))).toEqual([]);
  });
});
