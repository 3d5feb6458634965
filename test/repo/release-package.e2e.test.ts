// The release package as a user installs it: scripts/release-package.sh makes factory-VERSION.tgz, and
// `npm install --omit=dev` of it in an empty folder (offline: every dependency is inside) gives a `factory` whose
// --version and validate work, in under 40 MB. Named e2e for its minutes, not for Docker.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'factory-release-package-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;

describe('scripts/release-package.sh', () => {
  it('makes a package that installs offline with production dependencies only and runs', { timeout: 900_000 }, () => {
    const made = execFileSync('scripts/release-package.sh', [join(dir, 'out')], { encoding: 'utf8', stdio: 'pipe' });
    const tarball = join(dir, 'out', `factory-${version}.tgz`);
    expect(made.trim().split('\n').at(-1)).toBe(tarball);

    const app = join(dir, 'app');
    execFileSync('mkdir', ['-p', app]);
    writeFileSync(join(app, 'package.json'), '{"name":"an-admin","private":true}\n');
    execFileSync('npm', ['install', '--omit=dev', '--offline', '--no-audit', '--no-fund', tarball], {
      cwd: app,
      stdio: 'pipe',
    });
    const factory = join(app, 'node_modules', '.bin', 'factory');
    expect(execFileSync(factory, ['--version'], { encoding: 'utf8' }).trim()).toBe(version);

    writeFileSync(
      join(app, 'factory.yml'),
      'github:\n  auth: { tokenEnv: T }\n  webhook: { secret: { env: S } }\nprofiles:\n  ci: { labels: [self-hosted, ci], image: ci:1 }\nrepos:\n  - { repo: o/r, profiles: [ci] }\n',
    );
    const validate = spawnSync(factory, ['validate', '--config', join(app, 'factory.yml')], { encoding: 'utf8' });
    expect(validate.stdout).toContain('factory.yml: ok (1 repo(s), 1 profile(s))');

    const kb = Number(execFileSync('du', ['-sk', join(app, 'node_modules')], { encoding: 'utf8' }).split('\t')[0]);
    expect(kb).toBeLessThan(40 * 1024);
    // Test-only packages stay out of an installation.
    const installed = execFileSync('ls', [join(app, 'node_modules', 'factory', 'node_modules')], { encoding: 'utf8' });
    for (const devOnly of ['@actions', '@modelcontextprotocol', 'ajv', 'vitest', 'typescript', 'pino-pretty'])
      expect(installed.split('\n')).not.toContain(devOnly);
  });
});
