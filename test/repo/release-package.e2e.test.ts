// The release package as a user installs it: scripts/release-package.sh makes factory-VERSION.tgz, and
// `npm install --omit=dev` of it in an empty folder (offline: every dependency is inside) gives a `factory` whose
// --version, validate and demo work, in under 40 MB; and docs/real-host.md's first step, run as written in a container
// of a Debian host with Node (factory/base, as root, no network), installs that package. Named e2e for its minutes.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureLocalBase } from '../support/local-base.js';

const dir = mkdtempSync(join(tmpdir(), 'factory-release-package-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
const tarball = join(dir, 'out', `factory-${version}.tgz`);
const app = join(dir, 'app');
const factory = join(app, 'node_modules', '.bin', 'factory');

describe('scripts/release-package.sh', () => {
  it('makes a package that installs offline with production dependencies only and runs', { timeout: 900_000 }, () => {
    const made = execFileSync('scripts/release-package.sh', [join(dir, 'out')], { encoding: 'utf8', stdio: 'pipe' });
    expect(made.trim().split('\n').at(-1)).toBe(tarball);

    execFileSync('mkdir', ['-p', app]);
    writeFileSync(join(app, 'package.json'), '{"name":"an-admin","private":true}\n');
    execFileSync('npm', ['install', '--omit=dev', '--offline', '--no-audit', '--no-fund', tarball], {
      cwd: app,
      stdio: 'pipe',
    });
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

  it("runs the demo from the installed package, which carries the stand-in runner image's files", () => {
    expect(readFileSync(tarball).length).toBeGreaterThan(0); // made and installed by the test above
    // From the installation's folder, not the clone: the demo finds its scripts and runner image in the package.
    const demo = spawnSync(factory, ['demo'], { cwd: app, encoding: 'utf8', timeout: 180_000 });
    expect(demo.status, demo.stderr).toBe(0);
    expect(demo.stdout).toContain('Done: job 1000 of factory-demo/hello-world ran in its own container');
  }, 200_000);

  it("installs by docs/real-host.md's step 0, its commands as written, on a Debian host with Node and no network", async () => {
    expect(readFileSync(tarball).length).toBeGreaterThan(0); // made by the test above
    const guide = readFileSync('docs/real-host.md', 'utf8');
    const step = guide.slice(guide.indexOf('## 0. '));
    const commands = step.slice(step.indexOf('```sh\n') + 6, step.indexOf('\n```', step.indexOf('```sh\n')));
    expect(commands).toContain('npm install --omit=dev ./factory-VERSION.tgz');
    const unitCommand = /^ExecStart=\S+ (\S+) controller /m.exec(readFileSync('deploy/factory.service', 'utf8'))![1];
    const script = [
      'set -euo pipefail',
      // What the step assumes of the host: a Docker engine installed (its group) and the tarball copied in.
      'groupadd --system docker',
      `install -d /opt/factory && cp /release/factory-${version}.tgz /opt/factory/`,
      commands.replaceAll('VERSION', version),
      // deploy/factory.service runs the command step 0 linked, with no edit (this image's node is elsewhere).
      `node ${unitCommand} --version`,
      "stat -c '%a %U %G' /etc/factory /etc/factory/webhook-secret",
      'id factory',
    ].join('\n');
    const image = await ensureLocalBase();
    const run = spawnSync(
      'docker',
      [
        ...['run', '--rm', '--name', `factory-guide-${randomBytes(3).toString('hex')}`],
        ...['--label', 'factory.test=real-host-guide', '--user', '0:0', '--network', 'none'],
        // No registry: the package carries its dependencies, and npm must not try one.
        ...['-e', 'npm_config_offline=true', '-v', `${join(dir, 'out')}:/release:ro`],
        ...['--entrypoint', 'bash', image, '-c', script],
      ],
      { encoding: 'utf8', timeout: 600_000 },
    );
    expect(run.stderr + run.stdout).not.toMatch(/command not found|No such file/);
    expect(run.status).toBe(0);
    expect(run.stdout.split('\n').filter((line) => line === version)).toHaveLength(2); // factory, and the unit's
    expect(run.stdout).toContain('750 root factory\n640 root factory\n');
    expect(run.stdout).toMatch(/uid=\d+\(factory\) gid=\d+\(factory\) groups=\d+\(factory\),\d+\(docker\)/);
  }, 900_000);
});
