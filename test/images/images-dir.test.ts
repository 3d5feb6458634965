// `factory images build` with an images folder that is not one: named, with what it lacks and where to point it,
// before any Docker call; never a raw ENOENT.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { afterAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../controller/commands/command-line.js';
import { imagesProgram } from '../../controller/commands/images-command.js';

const dir = mkdtempSync(join(tmpdir(), 'factory-images-dir-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Any Docker call is a failure of the check: it must stop before the engine.
const noDocker = new Proxy({}, { get: (_t, key) => () => Promise.reject(new Error(`Docker called: ${String(key)}`)) });

async function build(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io = { stdout: (s: string) => void out.push(s), stderr: (s: string) => void err.push(s) };
  const code = await runCommand(imagesProgram(io, noDocker as Docker), ['build', ...args], io);
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

describe('factory images build --images-dir', () => {
  it('a folder that does not exist is named as such, not as ENOENT', async () => {
    const missing = join(dir, 'nope');
    const r = await build('--images-dir', missing);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `factory images build: --images-dir ${missing} does not exist: point --images-dir at the images/ folder of a factory checkout or release (it holds factory-base/, repo/ and repos/NAME/toolchain.sh)`,
    );
    expect(r.stderr).not.toContain('ENOENT');
  });

  it('a folder without what this build reads names the missing folders', async () => {
    const partial = join(dir, 'partial');
    mkdirSync(join(partial, 'repo'), { recursive: true });
    const r = await build('--images-dir', partial, '--local');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`--images-dir ${partial} has no factory-base/, factory-upstream-local/:`);
    // A repo build on a given base reads repo/ only: this folder is enough to get past the check.
    const repoOnly = await build('--images-dir', partial, '--repo', 'x', '--base', 'b:1');
    expect(repoOnly.stderr).toContain('no toolchain for x');
  });
});
