// No file imports itself back through others: a circle makes load order matter and hides which part depends on
// which. Relative imports of controller/, actions/ and lane-contract/ only; type-only imports count too.
import { describe, expect, it } from 'vitest';
import { importCycles, importGraph } from '../support/import-graph.js';

describe('import graph', () => {
  it('finds a circle when there is one', () => {
    const graph = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
    ]);
    expect(importCycles(graph)).toEqual(['a.ts -> b.ts -> c.ts -> a.ts']);
  });

  it('has no circle in controller/, actions/ and lane-contract/', () => {
    const graph = importGraph();
    expect(graph.size).toBeGreaterThan(100);
    expect(importCycles(graph)).toEqual([]);
  });
});
