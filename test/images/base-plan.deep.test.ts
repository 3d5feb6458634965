// The local base's build plan over the real images/ folder, the real node binary and npm: hashing them takes seconds
// (a deep test). The plan's other cases run on a small node of their own in build-context.test.ts.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planBaseBuilds } from '../../controller/images/base-plan.js';
import { localBaseOptions } from '../../controller/images/local-base.js';

const root = join(import.meta.dirname, '../..');

describe('planBaseBuilds', () => {
  it('builds the local upstream stage first and names it in the base, both tagged by their inputs', async () => {
    const [upstream, base] = await planBaseBuilds(localBaseOptions(join(root, 'images')));
    expect(upstream!.tag).toMatch(/^factory-local\/upstream:[0-9a-f]{12}$/);
    expect(upstream!.network).toBe('none');
    expect(upstream!.sources).toEqual([
      { from: process.execPath, to: 'node/bin/node' },
      { from: expect.stringMatching(/lib\/node_modules\/npm$/), to: 'node/lib/node_modules/npm' },
    ]);
    expect(base!.tag).toMatch(/^factory-local\/base:[0-9a-f]{12}$/);
    expect(base!.buildArgs).toEqual({ BASE_IMAGE: 'factory-local/debian:bookworm', UPSTREAM_IMAGE: upstream!.tag });
    expect(base!.npm).toEqual([{ to: 'npm-global', global: true, packages: expect.arrayContaining(['pnpm@10.11.0']) }]);
  });
});
