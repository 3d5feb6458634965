// `factory doctor --profile NAME` with a name the config does not have: refused at once with the profiles it has,
// instead of running every check as if no profile had been named.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../controller/commands/command-line.js';
import { doctorProgram } from '../../controller/commands/doctor-command.js';

const dir = mkdtempSync(join(tmpdir(), 'factory-doctor-profile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = join(dir, 'factory.yml');
writeFileSync(
  file,
  stringify({
    github: { auth: { tokenEnv: 'T' }, webhook: { secret: { env: 'S' } } },
    // A Docker socket nobody listens on: a doctor that ran its checks would report it; this one must not get there.
    docker: { socketPath: join(dir, 'no-docker.sock') },
    profiles: {
      ci: { labels: ['self-hosted', 'factory', 'ci'], image: 'ci:1' },
      review: { labels: ['self-hosted', 'factory', 'review'], image: 'ci:1' },
    },
    repos: [{ repo: 'o/r', profiles: ['ci', 'review'] }],
  }),
);

describe('factory doctor --profile', () => {
  it('refuses a profile the config does not define, naming the ones it does, and runs no check', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { stdout: (s: string) => void out.push(s), stderr: (s: string) => void err.push(s) };
    const code = await runCommand(
      doctorProgram(io, { T: 'token', S: 'secret' }),
      ['--profile', 'nope', '--config', file],
      io,
    );
    expect(code).toBe(2);
    expect(err).toEqual([`factory doctor: --profile nope is not a profile of ${file} (profiles: ci, review)`]);
    expect(out).toEqual([]);
  });
});
