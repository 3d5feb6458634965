// A job's runner, `factory lane run` and `factory doctor` start the same container from a profile: the same user,
// limits and hardening. Only what each adds differs (the JIT config, the command and terminal, the probe).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { afterAll, describe, expect, it } from 'vitest';
import { runDoctor } from '../../controller/commands/doctor.js';
import { laneRunContainer } from '../../controller/commands/lane-command.js';
import { parseConfig, type Config } from '../../controller/config/config.js';
import { containerSpec } from '../../controller/daemon/runner-spec.js';
import type { Engine } from '../../controller/docker/docker-engine.js';
import { laneMounts } from '../../controller/lanes/lane-layout.js';

const dir = mkdtempSync(join(tmpdir(), 'factory-container-spec-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const claudeHome = join(dir, 'claude');
mkdirSync(claudeHome);
writeFileSync(
  join(claudeHome, '.credentials.json'),
  JSON.stringify({ claudeAiOauth: { accessToken: 'a', refreshToken: 'r', expiresAt: 1 } }),
);

const config = ((): Config => {
  const result = parseConfig(`
github: { auth: { tokenEnv: T }, webhook: { secret: { env: S } } }
stateDir: ${join(dir, 'state')}
profiles:
  readonly:
    labels: [self-hosted, factory, readonly]
    image: factory/base:1
    cpus: 1.5
    memory: 3g
    readOnlyRootfs: true
  review:
    trusted: true
    labels: [self-hosted, factory, review]
    image: factory/lane:1
    agentUser: "1001:1001"
    mounts: [{ kind: auth, agent: claude, source: ${claudeHome} }]
repos: [{ repo: o/r, profiles: [readonly, review] }]
`);
  if (!result.ok) throw new Error(result.problems.join('\n'));
  return result.config;
})();

/** The doctor's probe containers, as the engine is asked to run them. */
async function doctorSpecs(profile: string): Promise<Docker.ContainerCreateOptions[]> {
  const specs: Docker.ContainerCreateOptions[] = [];
  const engine = {
    ping: async () => {},
    hasImage: async () => true,
    remove: async () => {},
    runToExit: async (spec: Docker.ContainerCreateOptions) => {
      specs.push(spec);
      return { exitCode: 0, output: '', timedOut: false };
    },
  } as unknown as Engine;
  const rows = await runDoctor(
    { config, engine, github: undefined, diskThreshold: 100, env: { S: 'x'.repeat(32) } },
    profile,
  );
  expect(rows.filter((r) => r.name === 'container')).toEqual([]);
  return specs;
}

const identity = (profileName: string) => ({
  instance: 'default',
  repo: 'o/r',
  profileName,
  jobId: 1,
  runnerId: 2,
  runnerName: 'factory-r-1-abcdef',
});
const withoutMounts = ({ Mounts: _mounts, ...rest }: Record<string, unknown>) => rest;

describe.each(['readonly', 'review'])('the container of profile %s', (name) => {
  const profile = config.profiles[name]!;
  const lane = laneMounts(config, name, profile, 'o/r', 'factory-r-1-abcdef');
  const job = containerSpec(identity(name), profile, 'jit', lane);

  it("is the job's for `factory lane run`: user, limits and hardening, with the command and a terminal", () => {
    const run = laneRunContainer(profile, {
      profileName: name,
      name: 'lane-x',
      command: ['claude', '-p', 'hi'],
      tty: true,
      lane,
      secrets: {},
    });

    expect(run.User).toBe(job.User);
    expect(run.HostConfig).toEqual(job.HostConfig);
    expect(run).toMatchObject({ Entrypoint: ['claude'], Cmd: ['-p', 'hi'], Tty: true, OpenStdin: true });
  });

  it("is the job's for `factory doctor`: user, limits and hardening, with the probe", async () => {
    const [probe] = await doctorSpecs(name);

    expect(probe!.User).toBe(job.User);
    expect(withoutMounts(probe!.HostConfig as Record<string, unknown>)).toEqual(withoutMounts(job.HostConfig));
    expect(probe!.Entrypoint).toEqual(['/bin/sh', '-c']);
  });
});
