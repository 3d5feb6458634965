// Housekeeping runs by itself on the config's schedule, on the real engine, removing this instance's exited
// containers and leaving its running ones; status and metrics show the run and the disk.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { configSchema } from '../../controller/config/config.js';
import { Housekeeper } from '../../controller/housekeeping/housekeeper.js';
import { silentLogger } from '../../controller/observe/logger.js';
import { Metrics } from '../../controller/observe/metrics.js';
import { statusSnapshot } from '../../controller/status/status-snapshot.js';
import { renderStatus } from '../../controller/status/status-table.js';
import { importBusyboxBase, removeImages } from '../support/busybox-base.js';
import { waitFor } from '../support/harness.js';

const docker = new Docker();
const instance = `hk-test-${randomBytes(4).toString('hex')}`;
const stateDir = mkdtempSync(join(tmpdir(), 'factory-hk-'));
const config = configSchema.parse({
  github: { auth: { tokenEnv: 'T' }, webhook: { secret: { env: 'S' } } },
  instance,
  stateDir,
  housekeeping: { every: '300ms', olderThan: '1s' },
  profiles: { ci: { labels: ['ci'], image: 'ci' } },
  repos: [{ repo: 'o/r', profiles: ['ci'] }],
});
const created: string[] = [];
let base: string;

beforeAll(async () => {
  base = await importBusyboxBase(docker);
});
afterAll(async () => {
  for (const id of created)
    await docker
      .getContainer(id)
      .remove({ force: true })
      .catch(() => undefined);
  await removeImages(docker, [base]);
  rmSync(stateDir, { recursive: true, force: true });
});

const container = async (cmd: string[]) => {
  const c = await docker.createContainer({
    Image: base,
    Cmd: cmd,
    Labels: { 'factory.managed': 'true', 'factory.instance': instance },
    HostConfig: { NetworkMode: 'none' },
  });
  created.push(c.id);
  await c.start();
  return c;
};

it('runs on its schedule and removes only what no job uses', async () => {
  const exited = await container(['true']);
  const running = await container(['sleep', '60']);
  await exited.wait();
  // Docker dates containers in whole seconds: let both be older than the policy's second.
  await new Promise((r) => setTimeout(r, 2_100));

  const housekeeper = new Housekeeper(config, docker, silentLogger());
  const metrics = new Metrics(config);
  metrics.watchHousekeeping(housekeeper);
  housekeeper.start();
  try {
    await waitFor(
      'a scheduled housekeeping run that removed the exited container',
      () => (housekeeper.totals.containers >= 1 ? true : undefined),
      20_000,
    );
  } finally {
    housekeeper.stop();
  }

  await expect(exited.inspect()).rejects.toMatchObject({ statusCode: 404 });
  expect((await running.inspect()).State.Running).toBe(true);
  expect(housekeeper.last).toMatchObject({ removed: { containers: expect.any(Number) } });
  expect(housekeeper.last!.error).toBeUndefined();

  const text = await metrics.text();
  expect(text).toMatch(/^factory_housekeeping_last_run_timestamp_seconds\{result="ok"\} \d+/m);
  expect(text).toMatch(/^factory_disk_used_ratio\{path="[^"]+"\} 0\.\d+/m);

  const snapshot = statusSnapshot({
    config,
    runners: [],
    queued: [],
    timelines: [],
    dockerUp: true,
    disk: housekeeper.lastDisk,
    housekeeping: { last: housekeeper.last! },
    now: Date.now(),
  });
  const shown = renderStatus(snapshot, 'http://127.0.0.1:8081');
  expect(shown).toMatch(/^disk: \/\S* \d+% used/m);
  expect(shown).toMatch(
    /^housekeeping: last run \d+s ago, removed \d+ container\(s\), \d+ image\(s\), 0 volume\(s\); not scheduled$/m,
  );
});
