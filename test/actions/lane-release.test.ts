// The action's side of the release: it waits, bounded, for the controller's marker, then takes the released values
// and masks each; a wait that runs out says what it waited for and why it likely did not come.
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  awaitLaneRelease,
  DEFAULT_RELEASE_TIMEOUT_SECONDS,
  parseReleaseTimeout,
  releasedEnvironment,
} from '../../actions/lane-core/lane-release.js';

let dir: string;
beforeEach(() => void (dir = mkdtempSync(join(tmpdir(), 'lane-release-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A clock that moves only when the wait sleeps; `onSleep` lets the "controller" act between polls. */
function clock(onSleep: (sleeps: number) => void = () => {}) {
  let now = 0;
  let sleeps = 0;
  const lines: string[] = [];
  return {
    lines,
    get sleeps() {
      return sleeps;
    },
    deps: {
      now: () => now,
      sleep: async (ms: number) => {
        now += ms;
        onSleep(++sleeps);
      },
      log: (line: string) => void lines.push(line),
    },
  };
}

const release = (values: Record<string, string>) => {
  writeFileSync(join(dir, 'env.json'), JSON.stringify(values), { mode: 0o600 });
  writeFileSync(join(dir, 'released.json'), JSON.stringify({ repo: 'o/r', jobId: 1, runId: 2, releasedAt: 'x' }));
};

describe('awaiting the release', () => {
  it('has nothing to wait for outside a lane that releases on assignment', async () => {
    const c = clock();
    expect(await awaitLaneRelease({}, 5, c.deps)).toEqual({});
    expect(c.sleeps).toBe(0);
  });

  it('waits until the marker appears, then returns the released values', async () => {
    const c = clock((n) => n === 8 && release({ LINEAR_TOKEN: 'lin_api_released_1' }));
    const values = await awaitLaneRelease({ FACTORY_RELEASE_DIR: dir }, 120, c.deps);
    expect(values).toEqual({ LINEAR_TOKEN: 'lin_api_released_1' });
    expect(c.sleeps).toBe(8);
    expect(c.lines).toEqual(["waiting up to 120s for the controller to release the lane's credentials"]);
  });

  it('ignores a values file without the marker: a half release is never read', async () => {
    writeFileSync(join(dir, 'env.json'), '{"A":"half"}');
    const c = clock();
    await expect(awaitLaneRelease({ FACTORY_RELEASE_DIR: dir }, 2, c.deps)).rejects.toThrow(/waited 2s/);
  });

  it('fails after its bound with a message naming the marker and the likely causes', async () => {
    const c = clock();
    const wait = awaitLaneRelease({ FACTORY_RELEASE_DIR: dir }, 3, c.deps);
    await expect(wait).rejects.toThrow(
      `waited 3s for the controller to release this lane's credentials (${join(dir, 'released.json')})`,
    );
    await expect(wait).rejects.toThrow(/not entitled to the lane .*fork or pull_request_target.*"not entitled"/);
    await expect(wait).rejects.toThrow(/raise input "release-timeout-seconds"/);
    expect(c.deps.now()).toBeGreaterThanOrEqual(3000);
    expect(c.deps.now()).toBeLessThan(3500);
  });

  it('refuses a marker that is not a regular file', async () => {
    symlinkSync('/etc/hostname', join(dir, 'released.json'));
    await expect(awaitLaneRelease({ FACTORY_RELEASE_DIR: dir }, 3, clock().deps)).rejects.toThrow(
      /release marker is not a file the action can trust: .*symlink/,
    );
  });

  it('refuses released values that are not NAME: string', async () => {
    writeFileSync(join(dir, 'env.json'), '{"A": 1}');
    writeFileSync(join(dir, 'released.json'), '{}');
    await expect(awaitLaneRelease({ FACTORY_RELEASE_DIR: dir }, 3, clock().deps)).rejects.toThrow(
      /released values: env\.json: entry "A" is not NAME: "string"/,
    );
  });

  it('masks every released value before handing the environment on', async () => {
    release({ LINEAR_TOKEN: 'lin_api_released_2', SENTRY_TOKEN: 'sntrys_released_3' });
    const masked: string[] = [];
    const env = await releasedEnvironment({ FACTORY_RELEASE_DIR: dir, PATH: '/bin' }, 5, {
      info: () => {},
      setSecret: (v) => void masked.push(v),
    });
    expect(masked.sort()).toEqual(['lin_api_released_2', 'sntrys_released_3']);
    expect(env).toEqual({
      FACTORY_RELEASE_DIR: dir,
      PATH: '/bin',
      LINEAR_TOKEN: 'lin_api_released_2',
      SENTRY_TOKEN: 'sntrys_released_3',
    });
  });
});

describe('input "release-timeout-seconds"', () => {
  it('defaults to two minutes and takes whole seconds up to an hour', () => {
    expect(parseReleaseTimeout('')).toBe(DEFAULT_RELEASE_TIMEOUT_SECONDS);
    expect(DEFAULT_RELEASE_TIMEOUT_SECONDS).toBe(120);
    expect(parseReleaseTimeout(' 300 ')).toBe(300);
    for (const bad of ['0', '1.5', 'soon', '3601'])
      expect(() => parseReleaseTimeout(bad)).toThrow(/^input "release-timeout-seconds": expected whole seconds/);
  });
});
