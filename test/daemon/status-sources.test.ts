// What `GET /status` and `factory status` show as the last error: the newest of the controller's own failures and
// GitHub's, as it happens, read through the same status sources the service serves.
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterEach, expect, it } from 'vitest';
import { statusSources } from '../../controller/daemon/status-sources.js';
import { GitHubHealth } from '../../controller/github/github-health.js';
import { Housekeeper } from '../../controller/housekeeping/housekeeper.js';
import { silentLogger } from '../../controller/observe/logger.js';
import { Metrics } from '../../controller/observe/metrics.js';
import { TimelineStore } from '../../controller/observe/timeline-store.js';
import { JobDetails } from '../../controller/status/job-details.js';
import { renderStatus } from '../../controller/status/status-table.js';
import { LABELS, REPO, memoryWorld, type MemoryWorld } from '../support/memory-world.js';

let w: MemoryWorld | undefined;
afterEach(async () => {
  await w?.dispose();
  w = undefined;
});

async function world() {
  w = await memoryWorld();
  w.clock.t = Date.now();
  const config = w.config;
  const log = silentLogger();
  const health = new GitHubHealth(() => w!.clock.t);
  const sources = statusSources({
    config: () => config,
    controller: w.controller,
    metrics: new Metrics(config),
    timeline: new TimelineStore(join(config.stateDir, 'timeline.jsonl'), log),
    health,
    // Never asked here: the housekeeper has not run, so status reads only its empty fields.
    housekeeper: new Housekeeper(config, new Docker({ socketPath: join(config.stateDir, 'no.sock') }), log),
    details: new JobDetails(),
  });
  const header = () => renderStatus(sources.status(), 'http://127.0.0.1:1').split('\n')[1];
  return { w, health, sources, header };
}

it('a GitHub failure shows as the last error, with how long ago, while the controller itself has none', async () => {
  const { health, sources, header } = await world();
  expect(header()).toBe('last error: none');

  health.onResult(REPO, 'unauthorised', 'GitHub 401 on GET runners for org/app: Bad credentials');

  expect(sources.status().lastError).toBe('GitHub 401 on GET runners for org/app: Bad credentials');
  expect(header()).toMatch(/^last error: \d+s ago: GitHub 401 on GET runners for org\/app: Bad credentials$/);
});

it('a failed launch after a GitHub failure takes its place, and GitHub failing again takes it back', async () => {
  const { w, health, sources } = await world();
  health.onResult(REPO, 'unreachable', 'GitHub unreachable on GET runners for org/app: ECONNREFUSED');
  w.clock.t += 5_000;
  w.engine.faults.startFails = true;

  w.github.queue(REPO, LABELS);
  await w.until('the launch to fail', () => w.controller.snapshot().lastError !== undefined);

  expect(sources.status()).toMatchObject({ lastError: expect.stringContaining('OCI runtime create failed') });
  expect(sources.status().lastErrorAt).toBe(w.clock.t);

  w.clock.t += 5_000;
  health.onResult(REPO, 'rate_limited', 'GitHub 403 on GET queued jobs for org/app: rate limit exceeded');
  expect(sources.status()).toMatchObject({
    lastError: 'GitHub 403 on GET queued jobs for org/app: rate limit exceeded',
    lastErrorAt: w.clock.t,
  });
});

it('answers /healthz, /readyz and /livez as the webhook port does, and nothing else, for a controller without one', async () => {
  const { sources } = await world();

  expect(sources.health?.('/healthz')).toEqual({
    status: 200,
    body: { status: 'ok', docker: 'up', github: 'unknown', queued: 0, running: 0 },
  });
  expect(sources.health?.('/livez')).toEqual({ status: 200, body: { status: 'alive' } });
  expect(sources.health?.('/readyz')?.status).toBe(200);
  expect(sources.health?.('/webhook')).toBeUndefined();
});
