// The deployment files agree with systemd, with Compose, and with the controller's own defaults.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { configSchema } from '../../controller/config/config.js';

const has = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
const unit = readFileSync('deploy/factory.service', 'utf8');
const compose = readFileSync('deploy/compose.yml', 'utf8');
const defaults = configSchema.parse({
  github: { auth: { tokenEnv: 'T' }, webhook: { secret: { env: 'S' } } },
  profiles: { ci: { labels: ['ci'], image: 'x' } },
  repos: [{ repo: 'o/r', profiles: ['ci'] }],
});
const setting = (key: string) => [...unit.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]!.trim());

describe('deploy/factory.service', () => {
  it.skipIf(!has('systemd-analyze'))('passes systemd-analyze verify without a complaint', () => {
    const run = spawnSync('systemd-analyze', ['verify', 'deploy/factory.service'], { encoding: 'utf8' });
    expect(`${run.stdout}${run.stderr}`.trim()).toBe('');
  });

  it('validates the config and reads its secrets before it starts the controller, as a docker-group user, in the default stateDir', () => {
    expect(setting('ExecStartPre')).toEqual([
      '/usr/bin/node /usr/local/bin/factory validate --secrets --config /etc/factory/factory.yml',
    ]);
    // A start that keeps failing ends in a failed unit instead of a restart loop.
    expect(setting('StartLimitBurst')).toEqual(['5']);
    expect(setting('StartLimitIntervalSec')).toEqual(['300']);
    expect(setting('ExecStart')).toEqual([
      '/usr/bin/node /usr/local/bin/factory controller --config /etc/factory/factory.yml',
    ]);
    expect(setting('User')).toEqual(['factory']);
    expect(setting('SupplementaryGroups')).toEqual(['docker']);
    expect(`/var/lib/${setting('StateDirectory')[0]}`).toBe(defaults.stateDir);
    expect(setting('KillSignal')).toEqual(['SIGTERM']);
  });

  it('wants Docker without requiring it, so a Docker restart does not stop the controller', () => {
    expect(setting('Requires')).toEqual([]);
    expect(setting('BindsTo')).toEqual([]);
    expect(setting('PartOf')).toEqual([]);
    expect(setting('Wants')[0]).toContain('docker.service');
    expect(setting('After')[0]).toContain('docker.service');
  });
});

describe('deploy/Dockerfile', () => {
  it("runs on Node's current LTS with production dependencies installed without scripts", () => {
    const file = readFileSync('deploy/Dockerfile', 'utf8');
    // Both stages from one base, a build argument that release pins by digest (test/commands/release.process.test.ts).
    expect([...file.matchAll(/^FROM (\S+)/gm)].map((m) => m[1])).toEqual(['${NODE_BASE}', '${NODE_BASE}']);
    expect(file).toMatch(/^ARG NODE_BASE=node:24-bookworm-slim(@sha256:[0-9a-f]{64})?$/m);
    expect(file).toContain('npm ci --omit=dev --ignore-scripts');
  });

  /** The build stage's `COPY src... dest` instructions, relative to its WORKDIR. */
  const buildStageCopies = () => {
    const stage = readFileSync('deploy/Dockerfile', 'utf8')
      .split(/^FROM /m)
      .find((s) => / AS build\n/.test(s))!;
    return [...stage.matchAll(/^COPY (?!--)(.+)$/gm)].map((m) => {
      const parts = m[1]!.trim().split(/\s+/);
      return { sources: parts.slice(0, -1), dest: parts.at(-1)! };
    });
  };

  // No registry here to build the image itself; what its build stage compiles is checked instead.
  it('copies everything the controller build compiles into its build stage', () => {
    const dir = mkdtempSync(join(tmpdir(), 'deploy-build-'));
    try {
      for (const { sources, dest } of buildStageCopies()) {
        for (const source of sources) {
          const target = dest.endsWith('/') ? join(dir, dest, source.split('/').at(-1)!) : resolve(dir, dest);
          mkdirSync(dirname(target), { recursive: true });
          cpSync(source, target, { recursive: true });
        }
      }
      symlinkSync(resolve('node_modules'), join(dir, 'node_modules'));
      const tsc = spawnSync(
        process.execPath,
        [resolve('node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--noEmit'],
        { cwd: dir, encoding: 'utf8' },
      );
      expect(tsc.stdout + tsc.stderr).toBe('');
      expect(tsc.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('deploy/compose.yml', () => {
  const service = (parse(compose) as { services: Record<string, Record<string, unknown>> }).services.controller!;

  it("runs under an init and is healthy only while the image's check of /healthz passes (healthcheck.e2e runs it)", () => {
    expect(service.init).toBe(true);
    const check = service.healthcheck as { test: string[] };
    expect(check.test).toEqual(['CMD', 'node', '/opt/factory/deploy/healthcheck.mjs']);
    const dockerfile = readFileSync('deploy/Dockerfile', 'utf8');
    expect(dockerfile).toContain('COPY deploy/healthcheck.mjs ./deploy/healthcheck.mjs');
    expect(dockerfile).toMatch(/HEALTHCHECK [^\n]*\\\n\s+CMD \["node", "\/opt\/factory\/deploy\/healthcheck.mjs"\]/);
    expect(readFileSync('deploy/healthcheck.mjs', 'utf8')).toContain(
      `FACTORY_HEALTH_PORT || ${defaults.github.webhook!.port}`,
    );
  });

  it('mounts the Docker socket and the state folder, and publishes the status endpoint on loopback only', () => {
    expect(service.volumes).toEqual(
      expect.arrayContaining(['/var/run/docker.sock:/var/run/docker.sock', `/srv/factory/state:${defaults.stateDir}`]),
    );
    expect(service.ports).toEqual(['8080:8080', `127.0.0.1:${defaults.status.port}:${defaults.status.port}`]);
    expect(service.command).toEqual(['controller', '--config', '/etc/factory/factory.yml']);
  });

  it('documents the host path map that matches its state volume', () => {
    expect(compose).toContain(`#     - { from: ${defaults.stateDir}, to: /srv/factory/state }`);
  });

  it("says to bind the webhook to 0.0.0.0, since the example's 127.0.0.1 is the container's own loopback", () => {
    expect(compose).toContain('#   github: { webhook: { host: 0.0.0.0, ... } }');
  });

  it('says to create the state folder for the user the image runs as, since Docker would create it for root', () => {
    const [uid, gid] = /^USER (\d+):(\d+)$/m.exec(readFileSync('deploy/Dockerfile', 'utf8'))!.slice(1);
    expect(compose).toContain(`install -d -m 0750 -o ${uid} -g ${gid} /srv/factory/state`);
  });

  it.skipIf(!has('docker-compose'))('is a file docker-compose accepts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'compose-'));
    try {
      writeFileSync(join(dir, 'env'), '');
      const file = join(dir, 'compose.yml');
      // Compose insists the env file exists; point it at an empty one, and build context at the repository.
      writeFileSync(
        file,
        compose.replace('/etc/factory/env', join(dir, 'env')).replace('context: ..', `context: ${process.cwd()}`),
      );
      const out = execFileSync('docker-compose', ['-f', file, 'config'], {
        env: { ...process.env, DOCKER_GID: '999' },
        encoding: 'utf8',
      });
      expect(out).toContain("group_add:\n    - '999'");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
