// `factory doctor` compares the runner version the images pin with GitHub's latest actions/runner release, asked
// through the project's GitHub client of a fake GitHub whose answers match GitHub's OpenAPI description. An old pin
// is a warning with the way to upgrade; GitHub not answering is a passing "could not check".
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runDoctor } from '../../controller/commands/doctor.js';
import {
  compareVersions,
  pinnedRunnerVersion,
  runnerVersionRow,
} from '../../controller/commands/doctor-runner-version.js';
import { configSchema } from '../../controller/config/config.js';
import type { Engine } from '../../controller/docker/docker-engine.js';
import { gitHubClient } from '../../controller/github/github-client.js';
import { silentLogger } from '../../controller/observe/logger.js';
import { assertResponse, documentedExample } from '../support/openapi.js';

const API = 'https://api.github.com';
const LATEST = '/repos/actions/runner/releases/latest';
const dir = mkdtempSync(join(tmpdir(), 'factory-doctor-runner-'));
const config = configSchema.parse({
  github: { auth: { tokenEnv: 'GH_TOKEN' }, webhook: { secret: { env: 'S' } } },
  stateDir: dir,
  profiles: { ci: { labels: ['ci'], image: 'ci' } },
  repos: [{ repo: 'o/app', profiles: ['ci'] }],
});
// Docker is down, so only the host rows run; the repo checks' own GitHub calls find no mock and fail on their own rows.
const engine = { ping: () => Promise.reject(new Error('connect ENOENT /var/run/docker.sock')) } as unknown as Engine;

/** GitHub's own example of a release, with the tag asked for, checked against the route's documented answer. */
function release(tag: string) {
  const body = { ...documentedExample('release'), tag_name: tag };
  assertResponse('GET', LATEST, 200, body);
  return body;
}

async function versionRow(pinned = '2.329.0') {
  const github = await gitHubClient(config, { GH_TOKEN: 'ghp_test' }, silentLogger(), { retryAfterBaseValue: 1 });
  const rows = await runDoctor({
    config,
    engine,
    github,
    diskThreshold: 100,
    env: { S: 'x'.repeat(32) },
    pinnedRunnerVersion: async () => pinned,
  });
  return rows.find((r) => r.name === 'runner version');
}

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());
afterAll(() => {
  nock.enableNetConnect();
  rmSync(dir, { recursive: true, force: true });
});

describe("doctor's runner version", () => {
  it('warns, with the way to upgrade, when GitHub has a newer runner than the one pinned', async () => {
    const asked = nock(API, { reqheaders: { authorization: 'token ghp_test' } })
      .get(LATEST)
      .reply(200, release('v2.330.1'));

    expect(await versionRow('2.329.0')).toEqual({
      scope: 'host',
      name: 'runner version',
      ok: true,
      warning: true,
      detail: "2.329.0 pinned is older than GitHub's latest 2.330.1",
      fix: expect.stringContaining('docs/upgrading.md'),
    });
    expect(asked.isDone()).toBe(true);
  });

  it('passes without a warning when the pin is the latest', async () => {
    nock(API).get(LATEST).reply(200, release('v2.329.0'));

    expect(await versionRow('2.329.0')).toMatchObject({
      ok: true,
      detail: "2.329.0 pinned, GitHub's latest is 2.329.0",
    });
    expect((await versionRow('2.329.0'))?.warning).toBeUndefined();
  });

  it('passes quietly, saying it could not check, when GitHub does not answer', async () => {
    nock(API).get(LATEST).times(10).replyWithError({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' });

    const row = await versionRow('2.329.0');

    expect(row).toMatchObject({ ok: true, detail: expect.stringMatching(/^2\.329\.0 pinned; could not check/) });
    expect(row?.warning).toBeUndefined();
  });

  it('passes quietly when GitHub answers with an error', async () => {
    nock(API).get(LATEST).times(10).reply(503, { message: 'Service Unavailable' });

    expect(await versionRow('2.329.0')).toMatchObject({ ok: true, detail: expect.stringMatching(/could not check/) });
  });

  it('passes quietly when the answer never comes', async () => {
    const row = await runnerVersionRow(
      async () => '2.329.0',
      () => new Promise<string>(() => {}),
      10,
    );
    expect(row).toMatchObject({ ok: true, detail: expect.stringMatching(/could not check .*no answer within/) });
  });
});

describe('the pinned runner version', () => {
  it("is the images' RUNNER_VERSION, a version doctor can compare", async () => {
    const pinned = await pinnedRunnerVersion();
    expect(compareVersions(pinned, pinned)).toBe(0);
  });

  it('compares numerically, part by part', () => {
    expect(compareVersions('2.329.0', '2.330.0')).toBeLessThan(0);
    expect(compareVersions('2.1000.0', '2.999.9')).toBeGreaterThan(0);
    expect(compareVersions('2.329.0', 'latest')).toBeUndefined();
  });
});
