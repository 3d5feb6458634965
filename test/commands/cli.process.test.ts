// The command line as a shell sees it: the real process's streams and exit status.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/** The real process: what a shell sees on its streams and as the exit status. */
const factory = (...argv: string[]) =>
  spawnSync(
    'node_modules/.bin/tsx',
    [
      '-e',
      "import('./controller/commands/cli.ts').then(async (m) => { process.exitCode = await m.main(process.argv.slice(1)); })",
      ...argv,
    ],
    { encoding: 'utf8' },
  );

describe('factory as a process', () => {
  it('bare factory prints the usage to stderr and exits 1, as git does; stdout stays empty for pipes', () => {
    const r = factory();
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^Usage: factory \[options\] \[command\]/);
    expect(r.stderr).toContain('validate [options]');
  });

  it('a mistyped command gets a suggestion on stderr and exit 2', () => {
    const r = factory('valdate');
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain("factory: unknown command 'valdate'\n(Did you mean validate?)");
  });
});
