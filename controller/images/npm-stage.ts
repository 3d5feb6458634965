// npm packages an image needs, installed on the build host into a folder the build context carries: the host's npm
// has the registry, mirror and CA settings of its machine, and the image build then needs no route to the registry.
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** Installed at `to` in the context: with `global`, as `npm install --global --prefix` lays out bin/ and lib/. */
export type NpmStage = { to: string; packages: readonly string[]; global: boolean };

const run = promisify(execFile);

/** `name@1.2.3` lines of a pin file; comments and blank lines dropped. Every line must pin one exact version. */
export function parsePins(text: string, where: string): string[] {
  const pins = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  for (const [i, pin] of pins.entries()) {
    if (!/^(@[a-z0-9._-]+\/)?[a-z0-9._-]+@\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(pin)) {
      throw new Error(`${where}: entry ${i + 1} "${pin}" is not name@exact-version`);
    }
  }
  return pins;
}

/** Installs the stage into a fresh temp folder and returns it; the caller removes it. */
export async function installNpmStage(stage: NpmStage, onLine: (line: string) => void): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'factory-npm-stage-'));
  // mkdtemp's 0700 would travel into the image with the folder: the runner user could not read what is installed.
  await chmod(dir, 0o755);
  const args = [
    'install',
    ...(stage.global ? ['--global'] : []),
    '--prefix',
    dir,
    '--no-audit',
    '--no-fund',
    '--no-save',
    ...stage.packages,
  ];
  onLine(`npm ${args.join(' ').replace(dir, `<${stage.to}>`)}`);
  try {
    const { stdout, stderr } = await run('npm', args, { maxBuffer: 16 * 1024 * 1024 });
    for (const line of `${stdout}\n${stderr}`.split('\n')) if (line.trim() !== '') onLine(line.trimEnd());
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    const e = err as Error & { stderr?: string };
    throw new Error(
      `npm install of ${stage.packages.join(' ')} failed: ${(e.stderr ?? e.message).trim().split('\n').slice(-5).join(' | ')}`,
    );
  }
  return dir;
}
