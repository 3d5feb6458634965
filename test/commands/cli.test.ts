// One command line for every command: help, version, suggestions, exit codes, --json, init and the config schema.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { main, program } from '../../controller/commands/cli.js';
import { configJsonSchema, configJsonSchemaText, SCHEMA_PATH } from '../../controller/config/config-json-schema.js';
import { starterConfig } from '../../controller/config/starter-config.js';
import type { Command } from 'commander';

const run = async (...argv: string[]) => {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { stdout: (s) => out.push(s), stderr: (s) => err.push(s) });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
};

const leaves = (cmd: Command, path: string[] = []): string[][] =>
  cmd.commands.flatMap((c) => (c.name() === 'help' ? [] : [[...path, c.name()], ...leaves(c, [...path, c.name()])]));

const dir = mkdtempSync(join(tmpdir(), 'factory-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('factory', () => {
  const commands = leaves(program({ stdout: () => {}, stderr: () => {} }));

  it('knows the commands an operator needs', () => {
    expect(commands.map((c) => c.join(' '))).toEqual(
      expect.arrayContaining([
        'init',
        'validate',
        'schema',
        'controller',
        'status',
        'doctor',
        'repos add',
        'repos set',
        'repos remove',
        'repos list',
        'images build',
        'index build',
        'index list',
        'prune',
        'demo',
      ]),
    );
  });

  it.each(commands.map((c) => [c.join(' '), c]))(
    '%s --help prints its usage to stdout and exits 0',
    async (_name, path) => {
      const r = await run(...(path as string[]), '--help');
      expect(r).toMatchObject({ code: 0, stderr: '' });
      expect(r.stdout).toMatch(new RegExp(`^Usage: factory ${(path as string[]).join(' ')}`));
    },
  );

  it('every command that reads state offers --json', () => {
    const reading = [['validate'], ['status'], ['doctor'], ['repos', 'list'], ['index', 'list'], ['prune']];
    for (const path of reading) {
      const cmd = path.reduce<Command>(
        (c, name) => c.commands.find((x) => x.name() === name)!,
        program({ stdout: () => {}, stderr: () => {} }),
      );
      expect(
        cmd.options.map((o) => o.long),
        path.join(' '),
      ).toContain('--json');
    }
  });

  it('--version prints the package version', async () => {
    const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    expect(await run('--version')).toEqual({ code: 0, stdout: version, stderr: '' });
  });

  it('a mistyped option gets a suggestion and exit 2', async () => {
    const r = await run('validate', '--confg', 'x.yml');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("factory validate: unknown option '--confg'\n(Did you mean --config?)");
  });

  it('controller takes --log-level as a word (also from FACTORY_LOG_LEVEL) and refuses a number', async () => {
    const r = await run('controller', '--log-level', '30');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      "option '--log-level <level>' argument '30' is invalid. Allowed choices are trace, debug, info, warn, error, fatal, silent.",
    );
    expect(
      program({ stdout: () => {}, stderr: () => {} })
        .commands.find((c) => c.name() === 'controller')
        ?.helpInformation(),
    ).toContain('--log-level <level>');
  });

  it('a missing config is named by its absolute path with the way out', async () => {
    const r = await run('validate', '--config', join(dir, 'nope.yml'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `${join(dir, 'nope.yml')}: cannot read config (ENOENT): pass --config PATH (or set FACTORY_CONFIG), or write a starting config with \`factory init\``,
    );
  });
});

describe('factory index build', () => {
  it('needs the repo and the checkout (exit 2)', async () => {
    const r = await run('index', 'build', '--checkout', dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("required option '--repo <owner/name>' not specified");
  });

  it('refuses a checkout that is not a git checkout before touching Docker (exit 2)', async () => {
    const r = await run('index', 'build', '--repo', 'acme/zoo', '--checkout', dir);
    expect(r).toMatchObject({ code: 2, stdout: '' });
    expect(r.stderr).toBe(`factory index build: --checkout ${dir} is not a git checkout (no .git in it)`);
  });

  it('list says when nothing is published yet, and lists nothing as JSON', async () => {
    const config = join(dir, 'index-list.yml');
    writeFileSync(
      config,
      `github: { auth: { tokenEnv: T }, webhook: { secret: { env: S } } }\nstateDir: ${join(dir, 'state')}\nprofiles: { ci: { labels: [ci], image: x } }\nrepos: [{ repo: o/r, profiles: [ci] }]\n`,
    );
    expect(await run('index', 'list', '-c', config)).toEqual({
      code: 0,
      stdout: 'no code index published yet (factory index build)',
      stderr: '',
    });
    expect(await run('index', 'list', '-c', config, '--json')).toMatchObject({ code: 0, stdout: '[]' });
  });
});

describe('factory init', () => {
  it('writes a commented config that validates as written, and never overwrites one', async () => {
    const file = join(dir, 'init.yml');
    expect(await run('init', '--config', file)).toMatchObject({ code: 0 });
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/^# yaml-language-server: \$schema=\/.*schema\/factory\.schema\.json\n/);
    expect(text.split('\n').filter((l) => l.trimStart().startsWith('#')).length).toBeGreaterThan(10);
    expect(await run('validate', '--config', file)).toMatchObject({
      code: 0,
      stdout: `${file}: ok (1 repo(s), 1 profile(s))`,
    });

    writeFileSync(file, 'mine\n');
    expect(await run('init', '--config', file)).toMatchObject({
      code: 1,
      stderr: `factory init: ${file} exists; pass --force to replace it`,
    });
    expect(readFileSync(file, 'utf8')).toBe('mine\n');
  });

  it('its commented lane profile validates too once uncommented', async () => {
    const file = join(dir, 'lane.yml');
    const text = starterConfig('/s.json');
    const [start, end] = [text.indexOf('  # codex:'), text.indexOf('\nrepos:')];
    const lane =
      text.slice(0, start) +
      text.slice(start, end).replace(/^ {2}# /gm, '  ') +
      text.slice(end).replace('profiles: [ci]', 'profiles: [ci, codex]');
    writeFileSync(file, lane);
    expect(await run('validate', '--config', file)).toMatchObject({
      code: 0,
      stdout: `${file}: ok (1 repo(s), 2 profile(s))`,
    });
  });
});

describe('factory validate on a lane profile without an agent user', () => {
  it('is ok on stdout and warns on stderr with the line, the profile and the fix', async () => {
    const file = join(dir, 'same-user-lane.yml');
    const text = starterConfig('/s.json');
    const [start, end] = [text.indexOf('  # codex:'), text.indexOf('\nrepos:')];
    const lane =
      text.slice(0, start) +
      text
        .slice(start, end)
        .replace(/^ {2}# /gm, '  ')
        .replace(/^ {4}agentUser.*\n/m, '') +
      text.slice(end).replace('profiles: [ci]', 'profiles: [ci, codex]');
    writeFileSync(file, lane);
    const line = lane.split('\n').findIndex((l) => l === '  codex:') + 1;
    const r = await run('validate', '--config', file);
    expect(r).toMatchObject({ code: 0, stdout: `${file}: ok (1 repo(s), 2 profile(s))` });
    expect(r.stderr).toMatch(
      new RegExp(
        `^${file.replace(/[.]/g, '\\.')}:${line}: warning: profiles\\.codex: lane profile "codex" has no agentUser`,
      ),
    );
    const json = await run('validate', '--json', '--config', file);
    expect(JSON.parse(json.stdout).warnings).toEqual([
      { line, path: 'profiles.codex', message: expect.stringContaining('set agentUser') },
    ]);
  });
});

describe('factory validate --json', () => {
  it('lists every problem with its line, path and message', async () => {
    const file = join(dir, 'bad.yml');
    writeFileSync(
      file,
      starterConfig('/s.json')
        .replace('profiles: [ci]', 'profiles: [ci, gpu]')
        .replace('maxConcurrent: 4 ', 'maxConcurrent: four '),
    );
    const r = await run('validate', '--json', '--config', file);
    expect(r.code).toBe(1);
    const lineOf = (needle: string) =>
      starterConfig('/s.json')
        .split('\n')
        .findIndex((l) => l.includes(needle)) + 1;
    expect(JSON.parse(r.stdout)).toEqual({
      file,
      ok: false,
      problems: [
        { line: lineOf('maxConcurrent: 4 '), path: 'maxConcurrent', message: 'expected number, received string' },
        {
          line: lineOf('profiles: [ci]'),
          path: 'repos[0].profiles[1]',
          message: 'unknown profile "gpu" (defined: ci)',
        },
      ],
    });
  });
});

describe('the config JSON Schema', () => {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  const validate = ajv.compile(configJsonSchema());

  it(`is published fresh at ${SCHEMA_PATH} (regenerate with npm run schema)`, () => {
    expect(readFileSync(SCHEMA_PATH, 'utf8')).toBe(configJsonSchemaText());
  });

  it('accepts the starting config and refuses what the parser refuses in shape', () => {
    const starter = parse(starterConfig('/s.json'));
    expect(validate(starter), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...starter, repos: [{ repo: 'a/b', profiles: ['ci'], maxConcurent: 2 }] })).toBe(false);
    expect(validate({ ...starter, github: { ...starter.github, auth: { token: 'ghp_x' } } })).toBe(false);
  });
});
