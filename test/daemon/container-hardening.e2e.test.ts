// Item 2 of the tier boundary, in the container: what Docker leaves open is closed for every runner container, and
// the stand-in runner (uid 1000, like the real one) still runs its job with nothing added back.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CI_LABELS, docker, startHarness, uniqueRepo, waitFor, type Harness } from '../support/harness.js';

let root: string;
let results: string;
let h: Harness | undefined;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'factory-harden-'));
  chmodSync(root, 0o755);
  results = join(root, 'results');
  mkdirSync(results);
  chmodSync(results, 0o777);
});
afterEach(async () => {
  await h?.stop();
  h = undefined;
  rmSync(root, { recursive: true, force: true });
});

const PROBE =
  '{ grep -E "^Cap(Eff|Bnd)" /proc/self/status; echo nofile=$(ulimit -n) nproc=$(ulimit -u) core=$(ulimit -c) user=$(id -u):$(id -g); ' +
  'touch /tmp/f; chown 1234 /tmp/f 2>&1; echo chown=$?; } > /results/probe.txt';

async function runProbe(repo: string, profile: Record<string, unknown> = {}) {
  // Long enough to inspect the container before the job ends and it is removed.
  h = await startHarness({
    repo,
    jobSeconds: 3,
    profile: {
      mounts: [{ kind: 'bind', source: results, target: '/results', mode: 'rw' }],
      env: { STANDIN_JOB_COMMAND: PROBE },
      ...profile,
    },
  });
  const jobId = await h.github.queueJob(h.repo, CI_LABELS);
  // Listed and inspected together: on a loaded engine a container can go between the two (its runner died before
  // it connected and was replaced), and the one that runs the job is inspected on a later pass.
  const inspect = await waitFor('the runner container', async () => {
    const [c] = await h!.containers();
    return c
      ? docker
          .getContainer(c.Id)
          .inspect()
          .catch(() => undefined)
      : undefined;
  });
  await waitFor(
    'the job',
    () => h!.github.jobs.get(jobId)?.status === 'completed' && h!.service.controller.snapshot().runners.length === 0,
  );
  return { inspect, probe: readFileSync(join(results, 'probe.txt'), 'utf8') };
}

describe('runner container defaults', () => {
  it('drops every capability, caps the log and sets nofile, nproc and core limits; the uid-1000 runner needs none of them', async () => {
    const { inspect, probe } = await runProbe(uniqueRepo('harden-ci'));

    expect(inspect.HostConfig).toMatchObject({
      CapDrop: ['ALL'],
      LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '2' } },
      Ulimits: [
        { Name: 'nofile', Soft: 16_384, Hard: 16_384 },
        { Name: 'nproc', Soft: 65_536, Hard: 65_536 },
        { Name: 'core', Soft: 0, Hard: 0 },
      ],
    });
    expect(inspect.Config.User).toBe('1000:1000');
    expect(probe).toContain('CapEff:\t0000000000000000\nCapBnd:\t0000000000000000\n');
    expect(probe).toContain('nofile=16384 nproc=65536 core=0 user=1000:1000');
  });

  it('a job running as root in its container still cannot chown: root there has no capabilities', async () => {
    const { probe } = await runProbe(uniqueRepo('harden-root'), { user: '0' });

    expect(probe).toContain('user=0:0');
    expect(probe).toMatch(/chown: \/tmp\/f: Operation not permitted\nchown=1/);
  });

  it('a bind that became a symlink to /etc after validation is refused at launch: no runner, no container', async () => {
    const cache = join(root, 'cache');
    mkdirSync(cache);
    h = await startHarness({
      repo: uniqueRepo('harden-swap'),
      profile: {
        trusted: false,
        network: 'none',
        mounts: [{ kind: 'bind', source: cache, target: '/cache', mode: 'rw' }],
      },
    });
    rmSync(cache, { recursive: true });
    symlinkSync('/etc', cache);
    const jobId = await h.github.queueJob(h.repo, CI_LABELS);
    await waitFor('the launch to fail', () => h!.stages.some((s) => s.jobId === jobId && s.stage === 'failed'));

    expect(h.service.controller.snapshot().lastError).toContain(
      `profiles.ci.mounts[0].source: ${cache} (on the host: /etc) overlaps /etc (host system folder)`,
    );
    expect(h.github.exchanges.filter((x) => x.path.endsWith('/generate-jitconfig'))).toEqual([]);
    expect(await h.containers()).toEqual([]);
  });
});
