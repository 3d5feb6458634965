// A lane's data stores reach its container only at the release: before it, no process in the container (the runner's
// user, or root with the lane's capabilities) can list, read or open them; after it, the agent's user reads them and
// cannot write; after the job, nothing of them is left. Real containers of the stand-in busybox image.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { parseConfig, type Config } from '../../controller/config/config.js';
import { profileContainer } from '../../controller/docker/container-spec.js';
import { finishJobFolder, prepareJobFolder } from '../../controller/lanes/job-folder.js';
import { jobDir, laneMounts } from '../../controller/lanes/lane-layout.js';
import { releaseJob } from '../../controller/lanes/release.js';
import { docker } from '../support/harness.js';

const run = promisify(execFile);
const BUSYBOX = '/bin/busybox';
const IMAGE = 'factory-test/busybox:1';

let root: string;
let container: string | undefined;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'factory-data-release-'));
  chmodSync(root, 0o755);
});
afterEach(async () => {
  if (container)
    await docker
      .getContainer(container)
      .remove({ force: true })
      .catch(() => {});
  container = undefined;
  rmSync(root, { recursive: true, force: true });
});

function laneConfig(store: string, agentStore: string): Config {
  const r = parseConfig(
    stringify({
      github: { auth: { tokenEnv: 'T' }, webhook: { secret: { env: 'S' } } },
      stateDir: join(root, 'state'),
      profiles: {
        lane: {
          labels: ['self-hosted', 'factory', 'lane'],
          image: IMAGE,
          trusted: true,
          agentUser: '1001:1001',
          mounts: [
            { kind: 'data', source: store, target: '/data/pkm' },
            { kind: 'data', source: agentStore, target: '/data/pkm-agent' },
          ],
        },
      },
      repos: [{ repo: 'o/r', profiles: ['lane'] }],
    }),
  );
  if (!r.ok) throw new Error(r.problems.join('; '));
  return r.config;
}

/** Runs a shell line in the container as `user` (docker exec: the container's capabilities); output and exit code. */
async function sh(user: string, line: string): Promise<{ code: number; out: string }> {
  const args = ['exec', '-u', user, container!, BUSYBOX, 'sh', '-c', `${line} 2>&1`];
  return run('docker', args).then(
    (r) => ({ code: 0, out: r.stdout }),
    (err: { code?: number; stdout?: string }) => ({ code: err.code ?? -1, out: err.stdout ?? '' }),
  );
}

describe('data at the release', () => {
  it('keeps the data stores shut until the release, opens them read-only, and leaves nothing after the job', async () => {
    const store = join(root, 'pkm');
    const agentStore = join(root, 'pkm-agent');
    for (const d of [store, agentStore]) mkdirSync(d, { mode: 0o755 });
    writeFileSync(join(store, 'note.md'), 'the private note\n', { mode: 0o644 });
    writeFileSync(join(agentStore, 'server.py'), 'print("pkm")\n', { mode: 0o644 });
    const config = laneConfig(store, agentStore);
    const profile = config.profiles.lane!;
    const runner = `factory-data-release-${process.pid}`;

    await prepareJobFolder(config, 'lane', profile, runner);
    const lane = laneMounts(config, 'lane', profile, 'o/r', runner);
    const spec = profileContainer(profile, {
      name: runner,
      env: { ...lane.env, PATH: '/bin:/usr/bin' },
      labels: { 'factory.test': 'data-release' },
      mounts: lane.mounts,
    });
    const created = await docker.createContainer({ ...spec, Cmd: [BUSYBOX, 'sleep', '600'] });
    container = created.id;
    await created.start();

    // Before the release: the runner's user, the agent's and root (the lane's capabilities, as a job that switched
    // uid through the helper would have) each fail to list, read or open the gate.
    for (const user of ['1000:1000', '1001:1001', '0:0']) {
      for (const line of ['ls /data', 'cat /data/pkm/note.md', 'ls /data/pkm-agent', 'cd /data/pkm']) {
        const r = await sh(user, line);
        expect(r.code, `${user}: ${line}`).not.toBe(0);
        expect(r.out).not.toContain('private note');
      }
      expect((await sh(user, 'chmod 755 /data')).out).toMatch(/Read-only file system|Operation not permitted/);
    }

    await releaseJob(config, 'lane', profile, runner, { repo: 'o/r', jobId: 1, runId: 1 });

    expect(await sh('1001:1001', 'cat /data/pkm/note.md /data/pkm-agent/server.py')).toEqual({
      code: 0,
      out: 'the private note\nprint("pkm")\n',
    });
    const write = await sh('1000:1000', 'echo x > /data/pkm/note.md; touch /data/pkm/new /data/new');
    expect(write.code).not.toBe(0);
    expect(write.out).toMatch(/Read-only file system/);
    expect(readFileSync(join(store, 'note.md'), 'utf8')).toBe('the private note\n');

    await docker.getContainer(container).remove({ force: true });
    container = undefined;
    await finishJobFolder(config, runner);
    expect(existsSync(jobDir(config, runner))).toBe(false);
    // The stores themselves are untouched, and no mount of them is left on the host.
    expect(readFileSync(join(store, 'note.md'), 'utf8')).toBe('the private note\n');
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(root);
  });
});
