// The code index's publish on a real folder with a stand-in for the build container: a lane reads the repo's link,
// which a new build replaces in one rename, while the build it replaced stays for a lane still copying it.
import { mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  buildCodeIndex,
  buildsToRemove,
  codeIndexPath,
  indexBuildSpec,
  INDEX_FACTS_FILE,
  listCodeIndexes,
  parseIndexRepo,
  type IndexBuilder,
} from '../../controller/lanes/code-index.js';

const COMMIT = 'a'.repeat(40);
const STATUS = { version: '1.6.1', fileCount: 3, nodeCount: 9, dbSizeBytes: 4096 };
let stateDir: string;
let clock: Date;

beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'factory-code-index-'));
  clock = new Date('2026-12-06T20:00:00Z');
});
afterEach(() => rm(stateDir, { recursive: true, force: true }));

/** Stands in for the build container: writes a database into the folder bound at /index and prints what codegraph's would. */
function fakeBuilder(db: string, exitCode = 0): IndexBuilder & { specs: ReturnType<typeof indexBuildSpec>[] } {
  const specs: ReturnType<typeof indexBuildSpec>[] = [];
  return {
    specs,
    now: () => clock,
    async run(spec) {
      specs.push(spec);
      const out = spec.HostConfig.Binds.find((b) => b.endsWith(':/index'))!.replace(/:\/index$/, '');
      await writeFile(join(out, 'codegraph.db'), db);
      const output = `commit=${COMMIT}\nstatus=${JSON.stringify(STATUS)}\n`;
      return { exitCode, output: exitCode === 0 ? output : 'fatal: not a git repository', timedOut: false };
    },
  };
}

const build = (builder: IndexBuilder, repo = 'Acme/Zoo') =>
  buildCodeIndex(builder, {
    stateDir,
    repo,
    checkout: '/srv/checkouts/zoo',
    image: 'factory/base:0.1.0',
    user: '1000:1000',
    hostView: (p) => p,
  });

const link = () => codeIndexPath(stateDir, { owner: 'acme', name: 'zoo' });

describe('factory index build, published', () => {
  it("makes the repo's link point at a complete build with the database and its facts", async () => {
    const { path, facts } = await build(fakeBuilder('v1'));
    expect(path).toBe(link());
    expect(await readFile(join(path, 'codegraph.db'), 'utf8')).toBe('v1');
    expect(facts).toMatchObject({ repo: 'acme/zoo', commit: COMMIT, files: 3, nodes: 9, bytes: 4096 });
    expect(JSON.parse(await readFile(join(path, INDEX_FACTS_FILE), 'utf8'))).toEqual(facts);
    expect(await readlink(path)).toMatch(/^\.zoo\.20261206T200000Z-[0-9a-f]{8}$/);
  });

  it('replaces the link with a new build and keeps the one it replaced, removing older ones', async () => {
    await build(fakeBuilder('v1'));
    const first = await readlink(link());
    clock = new Date('2026-12-06T21:00:00Z');
    await build(fakeBuilder('v2'));
    const second = await readlink(link());
    clock = new Date('2026-12-06T22:00:00Z');
    await build(fakeBuilder('v3'));
    expect(await readFile(join(link(), 'codegraph.db'), 'utf8')).toBe('v3');
    const entries = await readdir(join(stateDir, 'codegraph', 'acme'));
    expect(entries).toContain(second);
    expect(entries).not.toContain(first);
    expect(entries).toHaveLength(3); // the link, the current build and the one before it
  });

  it('is listed with its facts, once per repo whatever builds lie beside it', async () => {
    await build(fakeBuilder('v1'));
    clock = new Date('2026-12-06T21:00:00Z');
    await build(fakeBuilder('v2'));
    await build(fakeBuilder('v1'), 'acme/.github');
    expect((await listCodeIndexes(stateDir)).map((f) => [f.repo, f.builtAt])).toEqual([
      ['acme/.github', '2026-12-06T21:00:00.000Z'],
      ['acme/zoo', '2026-12-06T21:00:00.000Z'],
    ]);
  });

  it('two builds of one repo finishing together leave the link on a complete build, never on one removed', async () => {
    // Each publish removes the builds it does not keep: without one publish at a time, the first build's cleanup took
    // the second's complete folder between its rename and its publish, and the link pointed at nothing.
    for (let round = 0; round < 5; round++) {
      clock = new Date(Date.parse('2026-12-06T20:00:00Z') + round * 3600_000);
      await Promise.all([build(fakeBuilder(`a${round}`)), build(fakeBuilder(`b${round}`))]);
      expect(await readFile(join(link(), 'codegraph.db'), 'utf8')).toMatch(new RegExp(`^[ab]${round}$`));
    }
    expect((await readdir(join(stateDir, 'codegraph', 'acme'))).filter((e) => e.endsWith('.lock'))).toEqual([]);
  });

  it('leaves the current index in place and no folder behind when a build fails', async () => {
    await build(fakeBuilder('v1'));
    const before = await readdir(join(stateDir, 'codegraph', 'acme'));
    await expect(build(fakeBuilder('v2', 128))).rejects.toThrow(/exited 128:\nfatal: not a git repository/);
    expect(await readdir(join(stateDir, 'codegraph', 'acme'))).toEqual(before);
    expect(await readFile(join(link(), 'codegraph.db'), 'utf8')).toBe('v1');
  });

  it("refuses a folder in the link's place rather than remove what factory did not make", async () => {
    await mkdir(link(), { recursive: true });
    const builder = fakeBuilder('v1');
    await expect(build(builder)).rejects.toThrow(/is not a link factory made/);
    expect(builder.specs).toEqual([]);
  });

  it('refuses a repo that is not OWNER/NAME before starting anything', async () => {
    const builder = fakeBuilder('v1');
    await expect(build(builder, 'zoo')).rejects.toThrow('--repo: expected OWNER/NAME');
    await expect(build(builder, 'acme/..')).rejects.toThrow('--repo: expected OWNER/NAME');
    expect(builder.specs).toEqual([]);
  });
});

describe('the build container', () => {
  it('has no network and no capabilities, reads the checkout read-only and writes only the new build', () => {
    const spec = indexBuildSpec({ image: 'img', checkout: '/c', out: '/o', user: '1000:1000' });
    expect(spec).toMatchObject({ NetworkDisabled: true, User: '1000:1000' });
    expect(spec.HostConfig).toEqual({
      NetworkMode: 'none',
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Binds: ['/c:/checkout:ro', '/o:/index'],
    });
    expect(spec.Env).toContain('CODEGRAPH_TELEMETRY=0');
  });
});

describe('which builds a publish removes', () => {
  const now = new Date('2026-12-06T20:00:00Z');
  const entries = [
    'zoo',
    '.zoo.20261206T190000Z-00000001',
    '.zoo.20261206T195000Z-00000002',
    '.zoo.20261206T195900Z-00000003',
    '.zoo.20261206T195930Z-00000004.building',
    '.zoo.20261205T100000Z-00000005.building',
    '.zoo-2.20261206T100000Z-00000006',
    '.zoo.link-abcd1234',
  ];

  it('every complete build but the kept ones, and a build still running after a day; never another repo', () => {
    const keep = ['.zoo.20261206T195900Z-00000003', '.zoo.20261206T195000Z-00000002'];
    expect(buildsToRemove(entries, 'zoo', keep, now)).toEqual([
      '.zoo.20261206T190000Z-00000001',
      '.zoo.20261205T100000Z-00000005.building',
    ]);
  });
});

describe('a repo name for the index', () => {
  it('is lowercased, as the lane looks it up', () => {
    expect(parseIndexRepo('Ainative-Academy/aina_platform.v2')).toEqual({
      owner: 'ainative-academy',
      name: 'aina_platform.v2',
    });
  });

  it.each(['zoo', 'a/b/c', 'a/', '../x', 'a/..', 'a b/c'])('refuses %j', (repo) => {
    expect(parseIndexRepo(repo)).toMatch(/^expected OWNER\/NAME/);
  });
});
