import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync, existsSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { askedVersion, cliVersionReader, installedVersion } from '../../actions/lane-core/cli-version.js';
import { writeStandinCli } from '../support/standin-cli.js';

const projectBin = resolve('node_modules/.bin');
const packageVersion = (name: string) =>
  (JSON.parse(readFileSync(resolve('node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;

/** An npm layout: the package with a binary that leaves a mark when it runs, linked from a bin folder. */
function npmInstall(name: string, version: string, agent: 'claude' | 'codex') {
  const root = mkdtempSync(join(tmpdir(), 'cli-version-'));
  const pkg = join(root, 'lib', 'node_modules', name);
  mkdirSync(join(pkg, 'bin'), { recursive: true });
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name, version }));
  const ran = join(root, 'ran');
  writeFileSync(join(pkg, 'bin', 'cli.js'), `#!/bin/sh\ntouch ${ran}\necho 0.0.1\n`);
  chmodSync(join(pkg, 'bin', 'cli.js'), 0o755);
  mkdirSync(join(root, 'bin'));
  symlinkSync(join(pkg, 'bin', 'cli.js'), join(root, 'bin', agent));
  return { bin: join(root, 'bin'), ran };
}

describe('cli version', () => {
  it('reads the installed real CLIs from their packages, without running them', () => {
    expect(installedVersion('claude', projectBin)).toBe(packageVersion('@anthropic-ai/claude-code'));
    expect(installedVersion('codex', projectBin)).toBe(packageVersion('@openai/codex'));
  });

  it('follows the PATH link to the package that owns the binary and never runs it', () => {
    const npm = npmInstall('@openai/codex', '0.170.2', 'codex');

    expect(installedVersion('codex', `/no/such/dir:${npm.bin}:${projectBin}`)).toBe('0.170.2');
    expect(existsSync(npm.ran)).toBe(false);
  });

  it("takes the first binary on PATH, as spawn does, and trusts no other package's metadata", () => {
    const other = npmInstall('claude-code-wrapper', '9.9.9', 'claude');

    expect(installedVersion('claude', `${other.bin}:${projectBin}`)).toBeUndefined();
    expect(installedVersion('claude', '/no/such/dir')).toBeUndefined();
  });

  it("reads claude's native installer from its release folder", () => {
    const root = mkdtempSync(join(tmpdir(), 'cli-version-'));
    mkdirSync(join(root, 'versions'));
    mkdirSync(join(root, 'bin'));
    writeFileSync(join(root, 'versions', '2.1.200'), '#!/bin/sh\n', { mode: 0o755 });
    symlinkSync(join(root, 'versions', '2.1.200'), join(root, 'bin', 'claude'));

    expect(installedVersion('claude', join(root, 'bin'))).toBe('2.1.200');
  });

  it('asks a CLI that reads stdin to its end with stdin closed, so it answers at once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-version-'));
    writeStandinCli(dir, 'claude', { log: join(dir, 'log'), version: '3.4.5', readsStdinAlways: true });

    const version = await askedVersion('claude', { PATH: `${dir}:${process.env.PATH}` }, 3_000);

    expect(version).toBe('3.4.5');
  });

  it('gives up on a --version that never answers, naming the call', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-version-'));
    writeStandinCli(dir, 'codex', { log: join(dir, 'log'), version: '1.0.0', versionHangs: true });

    await expect(askedVersion('codex', { PATH: `${dir}:${process.env.PATH}` }, 500)).rejects.toThrow(
      '`codex --version` gave no answer within 0.5 s',
    );
  });

  it('asks only once the agent runs, and an unknown version is a warning that says why', async () => {
    const warnings: string[] = [];
    const asked: string[] = [];
    const reader = cliVersionReader(
      'codex',
      { PATH: '/no/such/dir' },
      (l) => warnings.push(l),
      async (agent) => {
        asked.push(agent);
        throw new Error('`codex --version` could not run (ENOENT)');
      },
    );

    expect(reader.installed).toBeUndefined();
    expect(asked).toEqual([]);
    reader.agentStarted();
    reader.agentStarted();

    expect(await reader.result()).toBe('');
    expect(asked).toEqual(['codex']);
    expect(warnings).toEqual(['cli-version: `codex --version` could not run (ENOENT)']);
  });

  it('an installed version is known before the agent starts and nothing is asked', async () => {
    let asked = 0;
    const reader = cliVersionReader(
      'claude',
      { PATH: projectBin },
      () => undefined,
      async () => `${++asked}`,
    );

    reader.agentStarted();

    expect(reader.installed).toBe(packageVersion('@anthropic-ai/claude-code'));
    expect(await reader.result()).toBe(reader.installed);
    expect(asked).toBe(0);
  });
});
