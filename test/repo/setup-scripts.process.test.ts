// scripts/setup prepares the demo and nothing more; scripts/setup-tests (which `npm test` runs first) installs what
// only the tests need. Both run here for real against a PATH of recording stand-ins for apt-get, docker and npm, in a
// scratch copy of scripts/, so what they would install or build on a fresh machine is what they ask for here.
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

let dir: string;
let bin: string;
let log: string;

// The real tools the scripts use besides the ones stood in for; anything else is "not installed".
const REAL = ['bash', 'sh', 'id', 'seq', 'sleep', 'dirname', 'mkdir', 'mktemp', 'cp', 'ln', 'chown', 'chmod', 'tar'];
const REAL_MORE = ['rm', 'cat', 'date', 'printf', 'env', 'tail'];

function stub(name: string, body = '') {
  const file = join(bin, name);
  writeFileSync(file, `#!/bin/sh\necho "${name} $*" >>"${log}"\n${body}\n`);
  chmodSync(file, 0o755);
}

function run(script: string) {
  return spawnSync(join(dir, 'scripts', script), [], {
    cwd: dir,
    env: { PATH: bin, HOME: dir },
    encoding: 'utf8',
  });
}

const calls = () => readFileSync(log, 'utf8').trim().split('\n');
const installs = () => calls().filter((c) => c.startsWith('apt-get install'));

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'factory-setup-'));
  bin = join(dir, 'bin');
  log = join(dir, 'calls.log');
  mkdirSync(bin);
  writeFileSync(log, '');
  cpSync('scripts', join(dir, 'scripts'), { recursive: true });
  mkdirSync(join(dir, 'controller/github/standin/runner-image'), { recursive: true });
  for (const tool of [...REAL, ...REAL_MORE]) {
    const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    if (found) symlinkSync(found, join(bin, tool));
  }
  stub('apt-get');
  stub('sudo', '"$@"');
  // An engine that answers and already has factory-test/busybox:1; builds succeed.
  stub('docker', 'case "$1" in version) echo 27.0.0 ;; esac; exit 0');
  stub('npm');
  stub('busybox');
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('scripts/setup', () => {
  it('installs and builds only what the demo needs: no test-only package, no Debian base, no factory/base', () => {
    const r = run('setup');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    // node_modules is missing in the scratch copy: a fresh clone gets npm ci.
    expect(calls()).toContain('npm ci --no-audit --no-fund');
    expect(calls()).toContainEqual(expect.stringMatching(/^docker build -q -t factory-test\/runner:1 /));
    expect(installs()).toEqual([]);
    const docker = calls().filter((c) => c.startsWith('docker '));
    expect(docker.join('\n')).not.toMatch(/debian|factory\/base|sidecar/);
    expect(r.stdout).toContain('setup: ready for npm run demo');
  });

  it('installs busybox-static when busybox is missing, and nothing the tests alone need', () => {
    rmSync(join(bin, 'busybox'));
    const r = run('setup');
    // The stand-in apt-get installs nothing, so the image script then stops on the missing busybox.
    expect(r.status).not.toBe(0);
    expect(installs()).toEqual(['apt-get install -y -qq busybox-static']);
  });
});

describe('scripts/setup-tests', () => {
  it('installs shellcheck, chromium, debootstrap, openssl and gh when their commands are missing', () => {
    const r = run('setup-tests');
    expect(r.status).toBe(0);
    expect(installs()).toEqual([
      'apt-get install -y -qq shellcheck',
      'apt-get install -y -qq chromium',
      'apt-get install -y -qq debootstrap',
      'apt-get install -y -qq openssl',
      'apt-get install -y -qq gh',
    ]);
    expect(calls().filter((c) => c.startsWith('apt-get update'))).toHaveLength(1);
  });

  it('installs nothing when they are there, so npm test on a prepared machine starts at once', () => {
    for (const tool of ['shellcheck', 'chromium', 'debootstrap', 'openssl', 'gh']) stub(tool);
    const r = run('setup-tests');
    expect(r.status).toBe(0);
    expect(calls()).toEqual(['']);
  });
});

describe('package.json', () => {
  it('runs scripts/setup-tests before the suite', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.test).toMatch(/^scripts\/setup-tests && vitest run$/);
  });
});
