import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, planImageBuilds } from '../../controller/images/image-builder.js';
import { runCommand } from '../../controller/commands/command-line.js';
import { imagesProgram } from '../../controller/commands/images-command.js';
import { importBusyboxBase, removeImages } from '../support/busybox-base.js';

const root = join(import.meta.dirname, '../..');

describe('planImageBuilds', () => {
  const options = { imagesDir: '/f/images', version: '1.2.3', repos: ['aina-academy', 'aina-platform'] };

  it('builds every repo on top of the base', () => {
    expect(planImageBuilds(options)).toEqual({
      builds: [
        {
          tag: 'factory/repo-aina-academy:1.2.3',
          contextDir: '/f/images/repos/aina-academy',
          dockerfile: '/f/images/repo/Dockerfile',
          buildArgs: { BASE_IMAGE: 'factory/base:1.2.3', REPO: 'aina-academy' },
        },
        {
          tag: 'factory/repo-aina-platform:1.2.3',
          contextDir: '/f/images/repos/aina-platform',
          dockerfile: '/f/images/repo/Dockerfile',
          buildArgs: { BASE_IMAGE: 'factory/base:1.2.3', REPO: 'aina-platform' },
        },
      ],
    });
  });

  it('with --repo OWNER/NAME builds only that repo, on the existing base, and keeps the owner in the tag', () => {
    const plan = planImageBuilds({ ...options, repo: 'Ainative-Academy/aina-platform' });
    expect('builds' in plan && plan.builds.map((b) => [b.tag, b.contextDir, b.buildArgs])).toEqual([
      [
        'factory/ainative-academy/repo-aina-platform:1.2.3',
        '/f/images/repos/aina-platform',
        { BASE_IMAGE: 'factory/base:1.2.3', REPO: 'aina-platform' },
      ],
    ]);
    const other = planImageBuilds({ ...options, repo: 'someone-else/aina-platform' });
    expect('builds' in other && other.builds[0]!.tag).toBe('factory/someone-else/repo-aina-platform:1.2.3');
  });

  it('with --base builds the repos on that image and not the base', () => {
    const plan = planImageBuilds({ ...options, base: 'local/base:dev', network: 'none' });
    expect('builds' in plan && plan.builds.map((b) => [b.tag, b.buildArgs.BASE_IMAGE, b.network])).toEqual([
      ['factory/repo-aina-academy:1.2.3', 'local/base:dev', 'none'],
      ['factory/repo-aina-platform:1.2.3', 'local/base:dev', 'none'],
    ]);
  });

  it('names the missing toolchain file for an unknown repo', () => {
    expect(planImageBuilds({ ...options, repo: 'aina-nope' })).toEqual({
      problem:
        'no toolchain for aina-nope: expected /f/images/repos/aina-nope/toolchain.sh (known: aina-academy, aina-platform)',
    });
  });
});

describe('building on the real engine, from a locally imported base', () => {
  const docker = new Docker();
  const created: string[] = [];
  let base: string;
  let dir: string;
  let imagesDir: string;
  const version = `test-${randomBytes(4).toString('hex')}`;

  const run = async (...argv: string[]) => {
    const out = { stdout: '', stderr: '' };
    const io = {
      stdout: (s: string) => void (out.stdout += `${s}\n`),
      stderr: (s: string) => void (out.stderr += `${s}\n`),
    };
    const code = await runCommand(imagesProgram(io, docker), argv, io);
    return { code, ...out };
  };

  const repoWithToolchain = async (name: string, script: string) => {
    await mkdir(join(imagesDir, 'repos', name), { recursive: true });
    await writeFile(join(imagesDir, 'repos', name, 'toolchain.sh'), script);
    created.push(`factory/repo-${name}:${version}`);
  };

  beforeAll(async () => {
    base = await importBusyboxBase(docker);
    created.push(base);
    dir = await mkdtemp(join(tmpdir(), 'factory-image-builder-'));
    imagesDir = join(dir, 'images');
    await mkdir(join(imagesDir, 'repo'), { recursive: true });
    await copyFile(join(root, 'images/repo/Dockerfile'), join(imagesDir, 'repo/Dockerfile'));
  });

  afterAll(async () => {
    await removeImages(docker, created);
    await rm(dir, { recursive: true, force: true });
  });

  it('streams the build output as lines and returns the tagged image', async () => {
    const context = join(dir, 'tiny');
    await mkdir(context);
    await writeFile(join(context, 'hello.txt'), 'hello\n');
    await writeFile(join(dir, 'tiny.Dockerfile'), `FROM ${base}\nCOPY hello.txt /hello.txt\nRUN cat /hello.txt\n`);
    const tag = `factory-test/tiny:${version}`;
    created.push(tag);
    const lines: string[] = [];

    const id = await buildImage(
      docker,
      { tag, contextDir: context, dockerfile: join(dir, 'tiny.Dockerfile'), buildArgs: {}, network: 'none' },
      (l) => lines.push(l),
    );

    expect(lines).toContainEqual(expect.stringMatching(/^Step 1\/3 : FROM factory-test\/images-base:/));
    expect(lines).toContain('hello');
    expect((await docker.getImage(tag).inspect()).Id).toBe(id);
  });

  it("a failing step rejects with the engine's reason and leaves no build container behind", async () => {
    const context = join(dir, 'failing');
    await mkdir(context);
    await writeFile(join(dir, 'failing.Dockerfile'), `FROM ${base}\nRUN echo about to fail && exit 3\n`);
    const tag = `factory-test/failing:${version}`;
    created.push(tag);

    await expect(
      buildImage(
        docker,
        { tag, contextDir: context, dockerfile: join(dir, 'failing.Dockerfile'), buildArgs: {}, network: 'none' },
        () => {},
      ),
    ).rejects.toThrow(
      new RegExp(`^factory-test/failing:${version}: build failed: The command .* returned a non-zero code: 3$`),
    );
    expect(await docker.listContainers({ all: true, filters: JSON.stringify({ ancestor: [base] }) })).toEqual([]);
  });

  it('factory images build --repo builds factory/repo-NAME:VERSION with progress and a clean audit', async () => {
    await repoWithToolchain('demo', 'echo "demo toolchain" > /home/runner/.toolchain\n');

    const result = await run(
      'build',
      '--repo',
      'demo',
      '--base',
      base,
      '--images-dir',
      imagesDir,
      '--tag',
      version,
      '--network',
      'none',
    );

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`==> building factory/repo-demo:${version}\n`);
    expect(result.stdout).toMatch(new RegExp(`\\[factory/repo-demo:${version}\\] Step 1/\\d+ : ARG BASE_IMAGE`));
    expect(result.stdout).toContain('audit found no credentials');
    expect((await docker.getImage(`factory/repo-demo:${version}`).inspect()).Config.Labels).toMatchObject({
      'factory.image-repo': 'demo',
    });
  });

  it('an image whose toolchain leaves a login behind is reported and untagged', async () => {
    const token = `gho_${randomBytes(18).toString('hex')}`;
    await repoWithToolchain(
      'leaky',
      `mkdir -p /home/runner/.config/gh\necho "github.com: {oauth_token: ${token}}" > /home/runner/.config/gh/hosts.yml\n`,
    );

    const result = await run(
      'build',
      '--repo',
      'leaky',
      '--base',
      base,
      '--images-dir',
      imagesDir,
      '--tag',
      version,
      '--network',
      'none',
    );

    expect(result.code).toBe(1);
    expect(result.stderr.split('\n')).toEqual([
      `factory images build: factory/repo-leaky:${version} carries credentials, so it was untagged:`,
      // The toolchain script carries the token too: COPY put it in a layer before the RUN that deleted it.
      expect.stringMatching(/^ {2}layer \d+: \/tmp\/factory-toolchain\.sh: holds what looks like a GitHub token$/),
      expect.stringMatching(
        /^ {2}layer \d+: \/home\/runner\/\.config\/gh\/hosts\.yml: gh login is baked into a layer$/,
      ),
      '',
    ]);
    expect(result.stderr + result.stdout).not.toContain(token.slice(4));
    await expect(docker.getImage(`factory/repo-leaky:${version}`).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it('an image the audit cannot read is untagged rather than left unaudited', async () => {
    await repoWithToolchain('unread', 'true\n');
    // The real engine, except that exporting the image for the audit fails half-way.
    const exportFails = new Proxy(docker, {
      get(target, prop) {
        if (prop !== 'getImage') return Reflect.get(target, prop);
        return (ref: string) =>
          Object.assign(target.getImage(ref), { get: async () => Promise.reject(new Error('export interrupted')) });
      },
    });
    const out = { stdout: '', stderr: '' };
    const io = {
      stdout: (s: string) => void (out.stdout += `${s}\n`),
      stderr: (s: string) => void (out.stderr += `${s}\n`),
    };

    const code = await runCommand(
      imagesProgram(io, exportFails),
      ['build', '--repo', 'unread', '--base', base, '--images-dir', imagesDir, '--tag', version, '--network', 'none'],
      io,
    );

    expect(code).toBe(1);
    expect(out.stderr).toBe(
      `factory images build: factory/repo-unread:${version} could not be audited (export interrupted), so it was untagged\n`,
    );
    await expect(docker.getImage(`factory/repo-unread:${version}`).inspect()).rejects.toMatchObject({
      statusCode: 404,
    });
  });

  it('a missing base is named before anything is built', async () => {
    await repoWithToolchain('other', 'true\n');
    const result = await run('build', '--repo', 'other', '--images-dir', imagesDir, '--tag', version);
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: `factory images build: base image factory/base:${version} is not on this Docker engine; build it first (factory images build) or pass --base IMAGE\n`,
    });
  });

  it('usage mistakes exit 2', async () => {
    expect(await run('push')).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("factory images: unknown command 'push'"),
    });
    expect(await run('build', '--colour')).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("factory images build: unknown option '--colour'"),
    });
  });
});
