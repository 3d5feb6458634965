// ensureImage against the real engine: a build is skipped while its inputs label matches, and redone when they change.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureImage, INPUTS_LABEL } from '../../controller/images/image-builder.js';
import { importBusyboxBase, removeImages } from '../support/busybox-base.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'factory-ensure-image-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ensureImage on the real engine', () => {
  const docker = new Docker();
  const tags: string[] = [];
  afterAll(async () => removeImages(docker, tags));

  it('builds once, reuses while the inputs are unchanged, and rebuilds when they change', async () => {
    const base = await importBusyboxBase(docker);
    tags.push(base);
    const context = join(dir, 'ensure');
    await mkdir(context, { recursive: true });
    await writeFile(join(context, 'Dockerfile'), `FROM ${base}\nCOPY note /note\n`);
    await writeFile(join(context, 'note'), 'first');
    const build = {
      tag: `factory-test/ensure:${randomBytes(4).toString('hex')}`,
      contextDir: context,
      dockerfile: join(context, 'Dockerfile'),
      buildArgs: {},
      network: 'none',
    };
    tags.push(build.tag);

    const first = await ensureImage(docker, build, () => {});
    const again = await ensureImage(docker, build, () => {});
    await writeFile(join(context, 'note'), 'second');
    const changed = await ensureImage(docker, build, () => {});
    tags.push(first.id); // untagged by the rebuild: removed here, not left dangling

    expect([first.built, again.built, changed.built]).toEqual([true, false, true]);
    expect(again.id).toBe(first.id);
    expect(changed.inputs).not.toBe(first.inputs);
    expect((await docker.getImage(build.tag).inspect()).Config.Labels[INPUTS_LABEL]).toBe(changed.inputs);
  });
});
