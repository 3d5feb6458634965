import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import Docker from 'dockerode';
import { pack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditImage, shouldRead } from '../../controller/images/image-audit.js';
import { buildImage } from '../../controller/images/image-builder.js';
import { readImageFacts } from '../../controller/images/image-facts.js';
import { importBusyboxBase, removeImages } from '../support/busybox-base.js';

const root = join(import.meta.dirname, '../..');
const docker = new Docker();
const created: string[] = [];
let base: string;
let dir: string;

/** The Dockerfile's instructions, continuation lines joined and comments dropped. */
async function instructions(path: string): Promise<string[]> {
  const text = await readFile(join(root, path), 'utf8');
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

const fakeToken = (prefix: string, length: number) => prefix + randomBytes(length).toString('hex').slice(0, length);

beforeAll(async () => {
  base = await importBusyboxBase(docker);
  created.push(base);
  dir = await mkdtemp(join(tmpdir(), 'factory-images-'));
});

afterAll(async () => {
  await removeImages(docker, created);
  await rm(dir, { recursive: true, force: true });
});

describe('images/factory-base/Dockerfile', () => {
  it('starts FROM ubuntu:24.04 by default and takes node, the runner, uv and the GitHub MCP server from the upstream stage', async () => {
    const lines = await instructions('images/factory-base/Dockerfile');
    expect(lines).toContain('ARG BASE_IMAGE=ubuntu:24.04');
    expect(lines).toContain('FROM ${UPSTREAM_IMAGE} AS upstream');
    expect(lines).toContain('FROM ${BASE_IMAGE}');
    expect(lines.filter((l) => l.startsWith('COPY --from=upstream')).map((l) => l.split(' ').at(-2))).toEqual([
      '/opt/factory/node/',
      '/opt/factory/bin/',
      '/opt/factory/lib/',
      '/opt/factory/runner/',
    ]);
    expect(lines).toContainEqual(
      expect.stringMatching(
        /useradd --uid 1000 .*runner .*useradd --uid 1001 .*agent .*usermod --append --groups agent runner$/,
      ),
    );
    // The agent-user helper: setpriv with only the two file capabilities, closed to all but the runner's group.
    expect(lines).toContainEqual(
      expect.stringMatching(
        /install -o root -g runner -m 0750 .*setpriv.* \/usr\/local\/libexec\/factory\/agent-exec .*setcap cap_setuid,cap_setgid=ep /,
      ),
    );
    expect(lines.slice(-4)).toEqual([
      'USER runner',
      'WORKDIR /home/runner',
      'ENTRYPOINT ["/usr/bin/tini", "--"]',
      'CMD ["/home/runner/run.sh"]',
    ]);
  });

  it('pins every upstream download to a version and a SHA-256 it checks before unpacking', async () => {
    const lines = await instructions('images/factory-upstream/Dockerfile');
    for (const name of ['NODE', 'RUNNER', 'UV', 'GITHUB_MCP']) {
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^ARG ${name}_VERSION=\\d+\\.\\d+\\.\\d+$`)));
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^ARG ${name}_SHA256=[0-9a-f]{64}$`)));
      expect(lines).toContainEqual(
        expect.stringMatching(
          new RegExp(`fetch "https://[^"]+\\$\\{${name}_VERSION\\}[^"]*" \\S+ "\\$\\{${name}_SHA256\\}"`),
        ),
      );
    }
    expect(lines).toContainEqual(
      expect.stringMatching(
        /fetch\(\) \{ curl -fsSL -o "\$2" "\$1" && echo "\$3  \$2" \| sha256sum --check --strict -; \}/,
      ),
    );
  });

  it('pins every global npm package to an exact version, pnpm to 10.11.0', async () => {
    const { parsePins } = await import('../../controller/images/npm-stage.js');
    const pins = parsePins(
      await readFile(join(root, 'images/factory-base/npm-globals.txt'), 'utf8'),
      'npm-globals.txt',
    );
    expect(pins).toContain('pnpm@10.11.0');
    expect(pins.map((p) => p.slice(0, p.lastIndexOf('@')))).toEqual([
      'pnpm',
      '@openai/codex',
      '@anthropic-ai/claude-code',
      '@colbymchenry/codegraph',
      '@playwright/mcp',
    ]);
  });

  it.each([
    'images/factory-base/Dockerfile',
    'images/factory-upstream/Dockerfile',
    'images/factory-upstream-local/Dockerfile',
    'images/repo/Dockerfile',
  ])('%s declares no credential build arg', async (path) => {
    const args = (await instructions(path)).filter((l) => l.startsWith('ARG ')).map((l) => l.slice(4).split('=')[0]!);
    expect(args.length).toBeGreaterThan(0);
    expect(args.filter((a) => /TOKEN|SECRET|PASSWORD|KEY|AUTH|CREDENTIAL/i.test(a))).toEqual([]);
  });
});

describe('images/repo/Dockerfile on a locally imported base', () => {
  let tag: string;

  beforeAll(async () => {
    const context = join(dir, 'demo');
    await rm(context, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(context));
    await writeFile(
      join(context, 'toolchain.sh'),
      'echo "demo toolchain" > /home/runner/.toolchain\nchown runner /home/runner/.toolchain\n',
    );
    tag = `factory-test/images-repo-demo:${randomBytes(4).toString('hex')}`;
    created.push(tag);
    await buildImage(
      docker,
      {
        tag,
        contextDir: context,
        dockerfile: join(root, 'images/repo/Dockerfile'),
        buildArgs: { BASE_IMAGE: base, REPO: 'demo' },
        network: 'none',
      },
      () => {},
    );
  });

  it('is a thin layer on the base that runs as the runner user with run.sh as its command', async () => {
    const info = await docker.getImage(tag).inspect();
    expect(info.Config.User).toBe('runner');
    expect(info.Config.Labels).toMatchObject({ 'factory.image': 'repo', 'factory.image-repo': 'demo' });
    const container = await docker.createContainer({
      Image: tag,
      Cmd: ['sh', '-c', 'id -u; cat /home/runner/.toolchain; test -x /home/runner/run.sh'],
      HostConfig: { NetworkMode: 'none' },
    });
    try {
      await container.start();
      expect((await container.wait()).StatusCode).toBe(0);
      const logs = (await container.logs({ stdout: true, stderr: true })).toString('utf8');
      expect(logs).toContain('1000');
      expect(logs).toContain('demo toolchain');
    } finally {
      await container.remove({ force: true });
    }
  });

  it('records its build args in the history, which is why they carry only names and versions', async () => {
    const facts = await readImageFacts(docker, tag);
    expect(facts.history.some((h) => h.includes('REPO=demo'))).toBe(true);
  });

  it('has no credential in its env, labels, history or any layer', async () => {
    const facts = await readImageFacts(docker, tag);
    expect(facts.files.map((f) => f.path)).toContain('home/runner/.toolchain');
    expect(auditImage(facts)).toEqual([]);
  });
});

describe('the audit catches a leaky image', () => {
  it('finds the token in a build arg, in ENV and in a file a later layer removed, without repeating it', async () => {
    const npmToken = fakeToken('npm_', 36);
    const ghToken = fakeToken('ghp_', 36);
    const context = join(dir, 'leaky');
    await import('node:fs/promises').then((fs) => fs.mkdir(context, { recursive: true }));
    await writeFile(join(context, 'npmrc'), `//registry.npmjs.org/:_authToken=${npmToken}\n`);
    const tag = `factory-test/images-leaky:${randomBytes(4).toString('hex')}`;
    created.push(tag);
    await buildImage(
      docker,
      {
        tag,
        contextDir: context,
        dockerfile: join(root, 'test/fixtures/images/leaky.Dockerfile'),
        buildArgs: { BASE_IMAGE: base, NPM_TOKEN: npmToken, GH_TOKEN: ghToken },
        network: 'none',
      },
      () => {},
    );

    const findings = auditImage(await readImageFacts(docker, tag));

    expect(findings).toEqual(
      expect.arrayContaining([
        'env GH_TOKEN: a credential-named variable has a value baked into the image',
        expect.stringMatching(/^history\[\d+\]: ARG NPM_TOKEN declares a credential build arg/),
        expect.stringMatching(/^history\[\d+\]: build arg NPM_TOKEN is recorded with its value$/),
        expect.stringMatching(/^layer \d+: \/home\/runner\/\.npmrc: holds what looks like an npm token$/),
      ]),
    );
    expect(findings.join('\n')).not.toContain(npmToken.slice(4));
    expect(findings.join('\n')).not.toContain(ghToken.slice(4));
  });
});

describe('readImageFacts on the archive the containerd image store saves', () => {
  const tarOf = async (files: Record<string, string | Buffer>) => {
    const tar = pack();
    for (const [name, text] of Object.entries(files)) tar.entry({ name, mode: 0o600 }, text);
    tar.finalize();
    const chunks: Buffer[] = [];
    for await (const chunk of tar) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  };

  /** `docker save` from the containerd store: OCI blobs (config JSON, layers as stored, gzip), manifest.json last. */
  const savedImage = async (layers: Buffer[]): Promise<Docker> => {
    const blob = (bytes: Buffer) => ({
      name: `blobs/sha256/${createHash('sha256').update(bytes).digest('hex')}`,
      bytes,
    });
    const config = blob(
      Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Env: ['PATH=/usr/bin'] } })),
    );
    const layerBlobs = layers.map(blob);
    const archive = await tarOf({
      ...Object.fromEntries([config, ...layerBlobs].map((b) => [b.name, b.bytes])),
      'manifest.json': JSON.stringify([
        { Config: config.name, RepoTags: ['demo:1'], Layers: layerBlobs.map((b) => b.name) },
      ]),
    });
    const image = {
      inspect: async () => ({ Config: { Env: ['PATH=/usr/bin'], Labels: {} } }),
      history: async () => [],
      get: async () => Readable.from([archive]),
    };
    return { getImage: () => image } as unknown as Docker;
  };

  it('reads the files of gzip-compressed layers, so a credential in one is found', async () => {
    const npmToken = fakeToken('npm_', 36);
    // Megabytes ahead of the credential, so the layer streams through in many chunks.
    const layer = gzipSync(
      await tarOf({
        'usr/lib/big.so': randomBytes(4 * 1024 * 1024),
        'home/runner/.npmrc': `//registry.npmjs.org/:_authToken=${npmToken}\n`,
      }),
    );

    const facts = await readImageFacts(await savedImage([layer]), 'demo:1');

    expect(facts.files.map((f) => [f.layer, f.path])).toEqual([[0, 'home/runner/.npmrc']]);
    expect(auditImage(facts)).toEqual(['layer 0: /home/runner/.npmrc: holds what looks like an npm token']);
  });

  it('refuses to pass an image with a layer it cannot open, naming the layer', async () => {
    const zstd = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), randomBytes(600)]);
    const readable = gzipSync(await tarOf({ 'etc/hostname': 'demo\n' }));

    await expect(readImageFacts(await savedImage([readable, zstd]), 'demo:1')).rejects.toThrow(
      /^layer blobs\/sha256\/[0-9a-f]{64} of demo:1 is not a tarball the audit can read \(/,
    );
  });
});

describe('auditImage', () => {
  const clean = {
    env: ['PATH=/usr/bin', 'NODE_VERSION=22'],
    labels: { 'factory.image-repo': 'demo' },
    history: ['/bin/sh -c #(nop)  ARG REPO'],
    files: [],
  };

  it('passes ordinary env, labels and history', () => {
    expect(auditImage(clean)).toEqual([]);
  });

  it('passes a credential-named variable that is empty, as images often reset them', () => {
    expect(auditImage({ ...clean, env: ['GITHUB_TOKEN='] })).toEqual([]);
  });

  it('flags agent auth files by their path alone', () => {
    expect(auditImage({ ...clean, files: [{ layer: 2, path: 'home/runner/.codex/auth.json', text: '{}' }] })).toEqual([
      'layer 2: /home/runner/.codex/auth.json: codex auth is baked into a layer',
    ]);
  });

  it('reads token-holding config files wherever a toolchain left them, and skips dependency trees', () => {
    expect(shouldRead('build/app/.npmrc', 100)).toBe(true);
    expect(shouldRead('workspace/.env', 100)).toBe(true);
    expect(shouldRead('usr/lib/node_modules/pkg/.npmrc', 100)).toBe(false);
    expect(shouldRead('usr/lib/libc.so', 100)).toBe(false);
  });

  it('flags a token under an innocent name', () => {
    expect(auditImage({ ...clean, labels: { note: `sk-ant-${'a'.repeat(30)}` } })).toEqual([
      'label note: holds what looks like an Anthropic key',
    ]);
  });
});
