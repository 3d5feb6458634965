// The launcher and a job's folders: their sources checked before GitHub holds a runner, the folders made while it
// registers one, and none left behind by a launch that fails on either side.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../controller/config/config.js';
import type { Engine } from '../../controller/docker/docker-engine.js';
import { recordingGitHub } from '../support/recording-github.js';
import { carryOut } from '../../controller/daemon/launcher.js';
import { planLaunch } from '../../controller/daemon/launch-plan.js';
import { jobDir } from '../../controller/lanes/lane-layout.js';

const root = mkdtempSync(join(tmpdir(), 'factory-launch-folders-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const configAt = (stateDir: string) =>
  configSchema.parse({
    github: { auth: { tokenEnv: 'T' }, webhook: { secret: { env: 'S' } } },
    stateDir,
    profiles: {
      trusted: { labels: ['self-hosted', 'trusted'], image: 'runner:1', trusted: true },
      codex: {
        labels: ['self-hosted', 'codex'],
        image: 'runner:1',
        trusted: true,
        lane: 'codex',
        mounts: [{ kind: 'auth', agent: 'codex', source: join(root, 'no-codex-login') }],
      },
    },
    repos: [{ repo: 'o/r', profiles: ['trusted', 'codex'] }],
  });
const job = (config: ReturnType<typeof configAt>, profileName: 'trusted' | 'codex') => ({
  jobId: 42,
  repo: 'o/r',
  profileName,
  profile: config.profiles[profileName]!,
  receivedAt: 0,
  key: 'o/r',
  limits: [],
});

/** Records GitHub's and the engine's side of the launch, in order. */
function world(config: ReturnType<typeof configAt>, fail: { jit?: boolean } = {}) {
  const steps: string[] = [];
  const github = recordingGitHub(steps, fail);
  const engine = {
    async run() {
      steps.push('run');
      return 'c1';
    },
  } as unknown as Engine;
  return { steps, deps: { config, github, engine, registered: () => {} } };
}

describe('a launch and its job folder', () => {
  it('starts the container with the folder made', async () => {
    const config = configAt(mkdtempSync(join(root, 'state-')));
    const { steps, deps } = world(config);
    const plan = planLaunch(config, job(config, 'trusted'), []);
    expect(await carryOut(deps, plan, job(config, 'trusted'))).toEqual({ kind: 'started', containerId: 'c1' });
    expect(steps).toEqual(['jit', 'run']);
    expect(existsSync(join(jobDir(config, plan.identity.runnerName), 'release'))).toBe(true);
  });

  it('fails on a missing credential before GitHub holds a runner', async () => {
    const config = configAt(mkdtempSync(join(root, 'state-')));
    const { steps, deps } = world(config);
    const plan = planLaunch(config, job(config, 'codex'), []);
    const outcome = await carryOut(deps, plan, job(config, 'codex'));
    expect(outcome).toMatchObject({ kind: 'failed', retry: false });
    expect((outcome as { failure: string }).failure).toMatch(/no-codex-login\/auth\.json is missing; log in to codex/);
    expect(steps).toEqual([]);
    expect(existsSync(jobDir(config, plan.identity.runnerName))).toBe(false);
  });

  it('a folder that cannot be made fails the launch and deletes the runner registered meanwhile', async () => {
    const notADir = join(root, 'state-file');
    writeFileSync(notADir, '');
    const config = configAt(notADir);
    const { steps, deps } = world(config);
    const plan = planLaunch(config, job(config, 'trusted'), []);
    const outcome = await carryOut(deps, plan, job(config, 'trusted'));
    expect(outcome).toMatchObject({ kind: 'failed', retry: false });
    expect((outcome as { failure: string }).failure).toMatch(/ENOTDIR/);
    expect(steps).toEqual(['jit', 'delete runner']);
  });

  it('a registration GitHub fails leaves no folder behind', async () => {
    const config = configAt(mkdtempSync(join(root, 'state-')));
    const { steps, deps } = world(config, { jit: true });
    const plan = planLaunch(config, job(config, 'trusted'), []);
    expect(await carryOut(deps, plan, job(config, 'trusted'))).toMatchObject({ kind: 'failed', retry: true });
    expect(steps).toEqual(['jit']);
    expect(existsSync(jobDir(config, plan.identity.runnerName))).toBe(false);
  });
});
