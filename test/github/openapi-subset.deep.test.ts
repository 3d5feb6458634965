// The subset of GitHub's REST description that unit tests validate against is a faithful cut of the whole one: what
// test/support/openapi-subset.ts cuts from the installed @octokit/openapi today, with every reference inside it.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readFullDescription, SUBSET_FILE, subsetOf, type OpenApiSubset } from '../support/openapi-subset.js';

const committed = JSON.parse(readFileSync(SUBSET_FILE, 'utf8')) as OpenApiSubset;

describe('the OpenAPI subset', () => {
  it('is what the whole description cuts to today (npx tsx test/support/openapi-subset.ts rewrites it)', () => {
    expect(committed).toEqual(subsetOf(readFullDescription()));
  });

  it('resolves every reference inside itself', () => {
    const refs = JSON.stringify(committed).match(/"\$ref":"#\/components\/[^"]+"/g) ?? [];
    expect(refs.length).toBeGreaterThan(0);
    const missing = refs
      .map((r) => r.slice('"$ref":"#/'.length, -1).split('/'))
      .filter(
        ([, kind, name]) => (committed.components[kind!] as Record<string, unknown> | undefined)?.[name!] === undefined,
      );
    expect(missing).toEqual([]);
  });
});
