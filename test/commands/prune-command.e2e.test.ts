import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage } from '../../controller/images/image-builder.js';
import { runCommand } from '../../controller/commands/command-line.js';
import { formatPruneReport, pruneProgram } from '../../controller/commands/prune-command.js';
import { importBusyboxBase, removeImages } from '../support/busybox-base.js';

const docker = new Docker();
const gone = (err: { statusCode?: number }) => (err.statusCode === 404 ? undefined : Promise.reject(err));

// Each call is one message; cli.ts's Io ends it with a newline, and so does this collector.
async function run(...argv: string[]) {
  const out = { stdout: '', stderr: '' };
  const io = {
    stdout: (s: string) => void (out.stdout += `${s}\n`),
    stderr: (s: string) => void (out.stderr += `${s}\n`),
  };
  const code = await runCommand(pruneProgram(io, docker), argv, io);
  return { code, ...out };
}

describe('factory prune on the real engine', () => {
  const instance = `prune-test-${randomBytes(4).toString('hex')}`;
  const tags: string[] = [];
  const containers: string[] = [];
  const images: string[] = [];
  let base: string;
  let dir: string;

  const container = async (labels: Record<string, string>, cmd: string[]) => {
    const c = await docker.createContainer({
      Image: base,
      Cmd: cmd,
      Labels: labels,
      HostConfig: { NetworkMode: 'none' },
    });
    containers.push(c.id);
    await c.start();
    return c;
  };

  /** Builds `tag` twice with different content, so the first build is left dangling; returns its ID. */
  const danglingImage = async (name: string, label: string) => {
    const tag = `factory-test/${name}:${instance}`;
    tags.push(tag);
    const build = async (content: string) => {
      await writeFile(join(dir, `${name}.Dockerfile`), `FROM ${base}\n${label}\nRUN echo ${content} > /content\n`);
      return buildImage(
        docker,
        { tag, contextDir: dir, dockerfile: join(dir, `${name}.Dockerfile`), buildArgs: {}, network: 'none' },
        () => {},
      );
    };
    const first = await build('first');
    images.push(first);
    await build('second');
    return first;
  };

  let result: { code: number; stdout: string; stderr: string };
  let dryRun: { code: number; stdout: string; stderr: string };
  let exited: Docker.Container;
  let other: Docker.Container;
  let running: Docker.Container;
  let ours: string;
  let theirs: string;

  // One prune over everything, because what it removes must be over a second old (Docker compares whole seconds):
  // an age of 0 would also take the childless step images of builds running in parallel test files.
  beforeAll(async () => {
    base = await importBusyboxBase(docker);
    tags.push(base);
    dir = await mkdtemp(join(tmpdir(), 'factory-prune-'));
    exited = await container({ 'factory.managed': 'true', 'factory.instance': instance }, ['true']);
    other = await container({}, ['true']);
    running = await container({ 'factory.managed': 'true', 'factory.instance': instance }, ['sleep', '60']);
    await exited.wait();
    await other.wait();
    ours = await danglingImage('prune-ours', 'LABEL factory.image=prune-test');
    theirs = await danglingImage('prune-theirs', 'LABEL somebody.else=yes');
    await new Promise((resolve) => setTimeout(resolve, 2_100));

    dryRun = await run('--older-than', '1s', '--instance', instance, '--dry-run');
    result = await run('--older-than', '1s', '--instance', instance);
  });

  afterAll(async () => {
    for (const id of containers) await docker.getContainer(id).remove({ force: true }).catch(gone);
    for (const id of images) await docker.getImage(id).remove({ force: true }).catch(gone);
    await removeImages(docker, tags);
    await rm(dir, { recursive: true, force: true });
  });

  it('--dry-run lists what a prune would remove, and removes nothing', () => {
    expect(dryRun.code).toBe(0);
    expect(dryRun.stdout).toMatch(
      /^would remove 1 exited factory container, [1-9]\d* dangling factory images? and 0 workspace volumes older than 1s; would free /,
    );
    expect(dryRun.stdout).toContain(`  container ${exited.id.slice(0, 12)}\n`);
    expect(dryRun.stdout).toContain(`  image ${ours.replace('sha256:', '').slice(0, 12)}\n`);
  });

  it('reports what it removed', () => {
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^removed 1 exited factory container, [1-9]\d* dangling factory images? and 0 workspace volumes older than 1s; freed /,
    );
    expect(result.stdout).toContain(`  container ${exited.id.slice(0, 12)}\n`);
    expect(result.stdout).toContain(`  image ${ours.replace('sha256:', '').slice(0, 12)}\n`);
  });

  it('removes exited factory containers of the instance and leaves running ones and other containers alone', async () => {
    await expect(exited.inspect()).rejects.toMatchObject({ statusCode: 404 });
    expect((await other.inspect()).State.Status).toBe('exited');
    expect((await running.inspect()).State.Running).toBe(true);
  });

  it("removes dangling images the factory built, not the host's other dangling images", async () => {
    await expect(docker.getImage(ours).inspect()).rejects.toMatchObject({ statusCode: 404 });
    expect((await docker.getImage(theirs).inspect()).Id).toBe(theirs);
  });

  it('refuses an age it cannot read', async () => {
    expect(await run('--older-than', 'a while')).toEqual({
      code: 2,
      stdout: '',
      stderr: 'factory prune: --older-than expects an age such as "90m", "6h" or "7d", got "a while"\n',
    });
  });
});

describe('formatPruneReport', () => {
  it('says what went and how much it freed', () => {
    const report = {
      dryRun: false,
      containers: ['0123456789abcdef'],
      images: [
        { id: 'sha256:fedcba9876543210', size: 5 * 1024 * 1024 },
        { id: 'sha256:aaaabbbbccccdddd', size: 512 * 1024 },
      ],
      volumes: ['factory-ws-a-ci-12345678'],
      bytes: 5 * 1024 * 1024 + 512 * 1024,
    };
    expect(formatPruneReport(report, '24h')).toBe(
      'removed 1 exited factory container, 2 dangling factory images and 1 workspace volume older than 24h; freed 5.5 MiB of images\n' +
        '  container 0123456789ab\n  image fedcba987654\n  image aaaabbbbcccc\n  volume factory-ws-a-ci-12345678',
    );
  });
});
