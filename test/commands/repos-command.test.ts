import { chmod, lstat, mkdtemp, readdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../controller/config/config.js';
import { runCommand } from '../../controller/commands/command-line.js';
import { reposProgram } from '../../controller/commands/repos-command.js';
import { addRepo, removeRepo, setRepo } from '../../controller/config/repos-editor.js';

// Written the way the yaml library prints, so an untouched part must come back byte for byte.
const CONFIG = `# factory settings for the ainative-academy org
github:
  auth: { tokenEnv: GITHUB_TOKEN } # a PAT for now, an App later
  webhook:
    port: 8080
    secret: { env: WEBHOOK_SECRET }

profiles:
  ci:
    labels: [self-hosted, factory, ci]
    image: factory/repo-aina-platform:0.1.0
  codex:
    labels: [self-hosted, factory, codex]
    image: factory/base:0.1.0

# the org's repos, busiest first
repos:
  # the monorepo
  - repo: ainative-academy/aina-platform
    profiles: [ci, codex]
    maxConcurrent: 3
  - repo: ainative-academy/aina-academy # the course site
    profiles: [ci]
maxConcurrent: 4 # across all repos
`;

describe('repos add', () => {
  it('appends the repo after the others and keeps every comment and key in place', () => {
    const result = addRepo(CONFIG, {
      repo: 'ainative-academy/aina-data-engine-room',
      profiles: ['ci', 'codex'],
      maxConcurrent: 2,
    });
    expect(result).toEqual({
      ok: true,
      text: CONFIG.replace(
        '    profiles: [ci]\n',
        '    profiles: [ci]\n  - repo: ainative-academy/aina-data-engine-room\n    profiles: [ci, codex]\n    maxConcurrent: 2\n',
      ),
    });
  });

  it("follows the file's own spacing inside brackets", () => {
    const padded = CONFIG.replaceAll('[ci]', '[ ci ]').replace(
      '[ci, codex]\n    maxConcurrent: 3',
      '[ ci, codex ]\n    maxConcurrent: 3',
    );
    const result = addRepo(padded, { repo: 'ainative-academy/aina-data-engine-room', profiles: ['ci'] });
    expect(result).toEqual({
      ok: true,
      text: padded.replace(
        '    profiles: [ ci ]\n',
        '    profiles: [ ci ]\n  - repo: ainative-academy/aina-data-engine-room\n    profiles: [ ci ]\n',
      ),
    });
  });

  it('still edits a repos list written inline, keeping the other entries', () => {
    const inline =
      CONFIG.slice(0, CONFIG.indexOf('repos:')) + 'repos: [{ repo: ainative-academy/aina-platform, profiles: [ci] }]\n';
    const result = addRepo(inline, { repo: 'ainative-academy/aina-academy', profiles: ['codex'] });
    const parsed = result.ok ? parseConfig(result.text) : undefined;
    expect(parsed?.ok && parsed.config.repos.map((r) => [r.repo, r.profiles])).toEqual([
      ['ainative-academy/aina-platform', ['ci']],
      ['ainative-academy/aina-academy', ['codex']],
    ]);
    expect(result.ok && result.text).toContain("# the org's repos, busiest first\n");
  });

  it('ends the last line of a file that had no final newline before appending', () => {
    const result = addRepo(CONFIG.replace(/\n$/, ''), {
      repo: 'ainative-academy/aina-data-engine-room',
      profiles: ['ci'],
    });
    expect(result.ok && result.text.endsWith('maxConcurrent: 4 # across all repos')).toBe(true);
    const withoutRepos = CONFIG.slice(0, CONFIG.indexOf('# the org')).trimEnd();
    expect(addRepo(withoutRepos, { repo: 'ainative-academy/aina-platform', profiles: ['ci'] })).toEqual({
      ok: true,
      text: `${withoutRepos}\nrepos:\n  - repo: ainative-academy/aina-platform\n    profiles: [ci]\n`,
    });
  });

  it('leaves maxConcurrent to the default when it is not given', () => {
    const result = addRepo(CONFIG, { repo: 'ainative-academy/aina-data-engine-room', profiles: ['ci'] });
    expect(result.ok).toBe(true);
    const parsed = result.ok ? parseConfig(result.text) : undefined;
    expect(parsed?.ok && parsed.config.repos[2]).toEqual({
      repo: 'ainative-academy/aina-data-engine-room',
      profiles: ['ci'],
      maxConcurrent: 2,
    });
  });

  it('refuses an unknown profile and says which', () => {
    expect(addRepo(CONFIG, { repo: 'ainative-academy/aina-data-engine-room', profiles: ['ci', 'claude'] })).toEqual({
      ok: false,
      problems: ['repos[2].profiles[1]: unknown profile "claude" (defined: ci, codex)'],
    });
  });

  it('refuses a name without its owner', () => {
    expect(addRepo(CONFIG, { repo: 'aina-data-engine-room', profiles: ['ci'] })).toEqual({
      ok: false,
      problems: ['repos[2].repo: expected "owner/name", got "aina-data-engine-room"'],
    });
  });

  it('refuses a repo that is already configured, whatever its case', () => {
    expect(addRepo(CONFIG, { repo: 'AInative-academy/AINA-academy', profiles: ['ci'] })).toEqual({
      ok: false,
      problems: ['repos[1].repo: AInative-academy/AINA-academy is already configured; remove it first'],
    });
  });

  it('creates the repos list when the file has none yet', () => {
    const withoutRepos = CONFIG.slice(0, CONFIG.indexOf('# the org'));
    const result = addRepo(withoutRepos, { repo: 'ainative-academy/aina-platform', profiles: ['ci'] });
    expect(result).toEqual({
      ok: true,
      text: `${withoutRepos}repos:\n  - repo: ainative-academy/aina-platform\n    profiles: [ci]\n`,
    });
  });

  it('reports YAML syntax errors with the line instead of editing', () => {
    const result = addRepo('github: [unclosed\n', { repo: 'a/b', profiles: ['ci'] }, 'broken.yml');
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problems[0]).toMatch(/^broken\.yml:\d+: /);
  });
});

describe('repos set', () => {
  it("replaces only the changed values, in the file's own style", () => {
    const result = setRepo(CONFIG, { repo: 'AINative-Academy/aina-platform', profiles: ['ci'], maxConcurrent: 1 });
    expect(result).toEqual({
      ok: true,
      text: CONFIG.replace(
        '    profiles: [ci, codex]\n    maxConcurrent: 3\n',
        '    profiles: [ci]\n    maxConcurrent: 1\n',
      ),
    });
  });

  it("adds a missing key on its own line under the entry, after the entry's trailing comment", () => {
    const result = setRepo(CONFIG, { repo: 'ainative-academy/aina-academy', maxConcurrent: 4 });
    expect(result).toEqual({
      ok: true,
      text: CONFIG.replace('    profiles: [ci]\n', '    profiles: [ci]\n    maxConcurrent: 4\n'),
    });
  });

  it('edits an entry written as a flow map and leaves every other line alone', () => {
    const hand = CONFIG.replace('auth: { tokenEnv: GITHUB_TOKEN }', 'auth: {tokenEnv: GITHUB_TOKEN}').replace(
      '  - repo: ainative-academy/aina-academy # the course site\n    profiles: [ci]\n',
      '  - {repo: ainative-academy/aina-academy, profiles: [ci]}   # the course site\n',
    );
    const result = setRepo(hand, { repo: 'ainative-academy/aina-academy', profiles: ['ci', 'codex'] });
    expect(result).toEqual({ ok: true, text: hand.replace('profiles: [ci]}', 'profiles: [ci, codex]}') });
  });

  it('refuses a repo that is not configured, and an unknown profile', () => {
    expect(setRepo(CONFIG, { repo: 'a/b', maxConcurrent: 1 })).toEqual({
      ok: false,
      absent: true,
      problems: ['repos: a/b is not configured; add it with factory repos add'],
    });
    expect(setRepo(CONFIG, { repo: 'ainative-academy/aina-academy', profiles: ['gpu'] })).toEqual({
      ok: false,
      problems: ['repos[1].profiles[0]: unknown profile "gpu" (defined: ci, codex)'],
    });
  });
});

describe('a repos list written inline', () => {
  it('is reprinted alone: hand-written flow maps elsewhere keep their spacing', () => {
    const hand = CONFIG.replace('auth: { tokenEnv: GITHUB_TOKEN }', 'auth: {tokenEnv: GITHUB_TOKEN}');
    const inline = hand.slice(0, hand.indexOf('repos:')) + 'repos: [{repo: a/b, profiles: [ci]}]\nmaxConcurrent: 4\n';
    const result = addRepo(inline, { repo: 'a/c', profiles: ['codex'] });
    expect(result.ok && result.text.split('\n').filter((l) => !inline.split('\n').includes(l))).toEqual([
      'repos: [{repo: a/b, profiles: [ci]}, {repo: a/c, profiles: [codex]}]',
    ]);
  });
});

describe('repos remove', () => {
  it('removes the entry and keeps the rest of the file as it was', () => {
    const result = removeRepo(CONFIG, 'ainative-academy/aina-academy');
    expect(result).toEqual({
      ok: true,
      text: CONFIG.replace('  - repo: ainative-academy/aina-academy # the course site\n    profiles: [ci]\n', ''),
    });
  });

  it('refuses to remove the last repo, because the controller needs one', () => {
    const once = removeRepo(CONFIG, 'ainative-academy/aina-academy');
    const twice = once.ok ? removeRepo(once.text, 'ainative-academy/aina-platform') : once;
    expect(twice).toEqual({ ok: false, problems: ['repos: configure at least one repo (or an org under orgs)'] });
  });

  it('refuses a repo that is not configured', () => {
    expect(removeRepo(CONFIG, 'ainative-academy/nope')).toEqual({
      ok: false,
      absent: true,
      problems: ['repos: ainative-academy/nope is not configured'],
    });
  });
});

describe('reposCommand on a real file', () => {
  let dir: string;
  let file: string;
  const run = async (...argv: string[]) => {
    const out = { stdout: '', stderr: '' };
    const io = {
      stdout: (s: string) => void (out.stdout += `${s}\n`),
      stderr: (s: string) => void (out.stderr += `${s}\n`),
    };
    const code = await runCommand(reposProgram(io), argv, io);
    return { code, ...out };
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'factory-repos-'));
    file = join(dir, 'factory.yml');
    await writeFile(file, CONFIG);
    await chmod(file, 0o640);
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('add writes the new file in place, with its mode, and leaves no temp file behind', async () => {
    const result = await run(
      'add',
      'ainative-academy/aina-data-engine-room',
      '--profiles',
      'ci,codex',
      '--max-concurrent',
      '2',
      '--config',
      file,
    );
    expect(result).toEqual({
      code: 0,
      stdout: `added ainative-academy/aina-data-engine-room to ${file}\n`,
      stderr: '',
    });
    const written = await readFile(file, 'utf8');
    expect(written).toContain(
      '  - repo: ainative-academy/aina-data-engine-room\n    profiles: [ci, codex]\n    maxConcurrent: 2\n',
    );
    expect((await stat(file)).mode & 0o777).toBe(0o640);
    expect(await readdir(dir)).toEqual(['factory.yml']);
  });

  it('a refused add prints the reasons, exits 1 and leaves the file untouched', async () => {
    const before = await stat(file);
    const result = await run('add', 'ainative-academy/aina-data-engine-room', '--profiles', 'gpu', '--config', file);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `factory repos add: refusing to write ${file}, the result would be invalid:\n  repos[2].profiles[0]: unknown profile "gpu" (defined: ci, codex)\n`,
    );
    expect(await readFile(file, 'utf8')).toBe(CONFIG);
    expect((await stat(file)).mtimeMs).toBe(before.mtimeMs);
  });

  it('remove then list shows what is left', async () => {
    expect((await run('remove', 'ainative-academy/aina-platform', '--config', file)).code).toBe(0);
    const listed = await run('list', '--config', file);
    expect(listed).toEqual({
      code: 0,
      stdout: 'REPO                           PROFILES  MAX CONCURRENT\nainative-academy/aina-academy  ci        2\n',
      stderr: '',
    });
  });

  it('usage mistakes exit 2 and name the problem', async () => {
    expect(await run('add', 'ainative-academy/x', '--config', file)).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("factory repos add: required option '--profiles <p1,p2>' not specified"),
    });
    expect(
      await run('add', 'ainative-academy/x', '--profiles', 'ci', '--max-concurrent', 'two', '--config', file),
    ).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--max-concurrent expects a whole number, got "two"'),
    });
    expect(await run('rmove', 'ainative-academy/x', '--config', file)).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/factory repos: unknown command 'rmove'\n\(Did you mean remove\?\)/),
    });
    expect(await run('set', 'ainative-academy/aina-academy', '--config', file)).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('nothing to change'),
    });
    expect(await readFile(file, 'utf8')).toBe(CONFIG);
  });

  it('a write the filesystem refuses is named with the file, exits 1, and leaves the file as it was', async () => {
    const full = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    const files = { read: (path: string) => readFile(path, 'utf8'), replace: async () => Promise.reject(full) };
    const out = { stdout: '', stderr: '' };
    const io = {
      stdout: (s: string) => void (out.stdout += `${s}\n`),
      stderr: (s: string) => void (out.stderr += `${s}\n`),
    };

    const code = await runCommand(
      reposProgram(io, files),
      ['remove', 'ainative-academy/aina-academy', '--config', file],
      io,
    );

    expect({ code, ...out }).toEqual({
      code: 1,
      stdout: '',
      stderr: `factory repos remove: cannot write ${file} (ENOSPC); it is unchanged\n`,
    });
    expect(await readFile(file, 'utf8')).toBe(CONFIG);
  });

  it('remove or set of a repo that is not in the file says so, not that the result would be invalid', async () => {
    const removed = await run('remove', 'ainative-academy/nope', '--config', file);
    expect(removed).toEqual({
      code: 1,
      stdout: '',
      stderr: `factory repos remove: ainative-academy/nope is not in ${file}, so nothing changed (factory repos list shows what is configured)\n`,
    });
    const set = await run('set', 'ainative-academy/nope', '--max-concurrent', '2', '--config', file);
    expect(set.stderr).toBe(
      `factory repos set: ainative-academy/nope is not in ${file}, so nothing changed (factory repos list shows what is configured; factory repos add adds it)\n`,
    );
    expect(await readFile(file, 'utf8')).toBe(CONFIG);
  });

  it('list --json prints the repos with their defaults filled in', async () => {
    const result = await run('list', '--json', '--config', file);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual([
      { repo: 'ainative-academy/aina-platform', profiles: ['ci', 'codex'], maxConcurrent: 3 },
      { repo: 'ainative-academy/aina-academy', profiles: ['ci'], maxConcurrent: 2 },
    ]);
  });

  it('an edit through a symlink replaces the file it points at and keeps the link', async () => {
    const real = join(dir, 'real.yml');
    await rename(file, real);
    await symlink('real.yml', file);
    expect((await run('set', 'ainative-academy/aina-academy', '--max-concurrent', '5', '--config', file)).code).toBe(0);
    expect((await lstat(file)).isSymbolicLink()).toBe(true);
    expect(await readFile(real, 'utf8')).toBe(
      CONFIG.replace('    profiles: [ci]\n', '    profiles: [ci]\n    maxConcurrent: 5\n'),
    );
  });

  it('a missing config file is named by its absolute path, with how to get one', async () => {
    const result = await run('list', '--config', join(dir, 'nope.yml'));
    expect(result).toMatchObject({
      code: 1,
      stderr: `factory repos list: ${join(dir, 'nope.yml')}: cannot read config (ENOENT): pass --config PATH (or set FACTORY_CONFIG), or write a starting config with \`factory init\`\n`,
    });
  });
});
