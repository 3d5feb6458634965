import { chmod, cp, link, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contextEntries, hashEntries } from '../../controller/images/build-context.js';
import { planBaseBuilds } from '../../controller/images/base-plan.js';
import { localBaseOptions } from '../../controller/images/local-base.js';

const root = join(import.meta.dirname, '../..');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'factory-build-context-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('contextEntries', () => {
  it('keeps symlinks as links and packs a hard-linked binary once, with its own mode on the link', async () => {
    const src = join(dir, 'links');
    await mkdir(join(src, 'bin'), { recursive: true });
    await writeFile(join(src, 'bin', 'tool.exe'), 'binary');
    await chmod(join(src, 'bin', 'tool.exe'), 0o755);
    await link(join(src, 'bin', 'tool.exe'), join(src, 'platform-tool'));
    await symlink('bin/tool.exe', join(src, 'tool'));

    const entries = await contextEntries([{ from: src, to: 'npm-global' }]);

    expect(entries).toEqual([
      { kind: 'dir', name: 'npm-global', mode: expect.any(Number) },
      { kind: 'dir', name: 'npm-global/bin', mode: expect.any(Number) },
      { kind: 'file', name: 'npm-global/bin/tool.exe', mode: 0o755, size: 6, hostPath: join(src, 'bin', 'tool.exe') },
      { kind: 'hardlink', name: 'npm-global/platform-tool', target: 'npm-global/bin/tool.exe', mode: 0o755 },
      { kind: 'symlink', name: 'npm-global/tool', target: 'bin/tool.exe' },
    ]);
  });

  it('hashes to something else when one byte, one mode or one build arg changes', async () => {
    const src = join(dir, 'hash');
    await mkdir(src, { recursive: true });
    await writeFile(join(src, 'a'), 'one');
    const hash = async (extra: string[] = []) => hashEntries(await contextEntries([{ from: src, to: '' }]), extra);
    const first = await hash();
    expect(await hash()).toBe(first);
    await writeFile(join(src, 'a'), 'onE');
    const byte = await hash();
    await chmod(join(src, 'a'), 0o600);
    const mode = await hash();
    expect(new Set([first, byte, mode, await hash(['arg X=1'])]).size).toBe(4);
  });
});

describe('planBaseBuilds', () => {
  it('gives the base new inputs when only the upstream stage changes', async () => {
    const images = join(dir, 'images');
    await cp(join(root, 'images'), images, { recursive: true, verbatimSymlinks: true });
    // A small node and npm of its own: hashing the real ones takes seconds (base-plan.deep.test.ts does it once).
    const node = join(dir, 'node', 'bin', 'node');
    await mkdir(join(dir, 'node', 'lib', 'node_modules', 'npm'), { recursive: true });
    await mkdir(join(dir, 'node', 'bin'));
    await writeFile(node, 'node');
    await writeFile(join(dir, 'node', 'lib', 'node_modules', 'npm', 'package.json'), '{}');
    const options = () => ({ ...localBaseOptions(images), nodeBinary: node });
    const before = await planBaseBuilds(options());
    await writeFile(join(images, 'factory-upstream-local', 'runner', 'run.sh'), '#!/bin/sh\necho changed\n');
    const after = await planBaseBuilds(options());
    expect(after[0]!.tag).not.toBe(before[0]!.tag);
    expect(after[1]!.tag).not.toBe(before[1]!.tag);
  });

  it('release mode builds factory-upstream with no local sources', async () => {
    const [upstream, base] = await planBaseBuilds({
      imagesDir: join(root, 'images'),
      upstream: 'release',
      upstreamTag: 'factory/upstream:1',
      baseTag: 'factory/base:1',
    });
    expect(upstream).toMatchObject({
      tag: 'factory/upstream:1',
      contextDir: join(root, 'images/factory-upstream'),
      buildArgs: {},
    });
    expect(upstream!.sources).toBeUndefined();
    expect(base!.buildArgs).toEqual({ UPSTREAM_IMAGE: 'factory/upstream:1' });
  });
});
