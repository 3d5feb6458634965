// `warm` on a profile, at the config edge: what is accepted, and every refusal located. A lane profile that carries a
// login, secrets or env files may keep a pool: its runners get them only on a verified assignment, and take the login
// only then.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { parseConfig } from '../../controller/config/config.js';

const root = mkdtempSync(join(tmpdir(), 'factory-warm-config-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function config(ci: Record<string, unknown>, lane: Record<string, unknown> = {}) {
  return {
    github: { auth: { tokenEnv: 'T' }, webhook: { secret: { env: 'S' } } },
    stateDir: join(root, 'state'),
    profiles: {
      ci: { labels: ['self-hosted', 'factory', 'ci'], image: 'ci:1', ...ci },
      lane: {
        labels: ['self-hosted', 'factory', 'codex'],
        image: 'lane:1',
        trusted: true,
        lane: 'codex',
        mounts: [{ kind: 'auth', agent: 'codex', source: join(root, 'codex') }],
        ...lane,
      },
    },
    repos: [{ repo: 'o/r', profiles: ['ci', 'lane'] }],
  };
}
const parse = (ci: Record<string, unknown>, lane: Record<string, unknown> = {}) =>
  parseConfig(stringify(config(ci, lane)));
const problems = (ci: Record<string, unknown>, lane: Record<string, unknown> = {}) => {
  const r = parse(ci, lane);
  return r.ok ? [] : r.problems;
};

describe('warm on a profile', () => {
  it('takes min, max, idleTimeout and a schedule in a time zone, durations in words', () => {
    const r = parse({
      warm: {
        min: 2,
        max: 6,
        idleTimeout: '30m',
        schedule: { timeZone: 'Europe/Berlin', days: ['mon', 'fri'], from: '08:00', to: '19:00' },
      },
    });
    expect(r.ok && r.config.profiles.ci!.warm).toEqual({
      min: 2,
      max: 6,
      idleTimeout: 1_800_000,
      schedule: { timeZone: 'Europe/Berlin', days: ['mon', 'fri'], from: '08:00', to: '19:00' },
    });
  });

  it('refuses a bad time zone, a bad clock time, an unknown day and max below min, each at its path', () => {
    expect(
      problems({
        warm: {
          min: 3,
          max: 2,
          idleTimeout: '10s',
          schedule: { timeZone: 'Mars/Olympus', days: ['someday'], from: '8am', to: '19:00' },
        },
      }),
    ).toEqual(
      expect.arrayContaining([
        'profiles.ci.warm.idleTimeout: expected a duration between 60s and 7d, got "10s"',
        'profiles.ci.warm.schedule.timeZone: expected an IANA time zone such as "Europe/Berlin", got "Mars/Olympus"',
        'profiles.ci.warm.schedule.days[0]: expected mon, tue, wed, thu, fri, sat or sun, got "someday"',
        'profiles.ci.warm.schedule.from: expected a time of day such as "08:00", got "8am"',
      ]),
    );
    expect(problems({ warm: { min: 3, max: 2, idleTimeout: '5m' } })).toEqual([
      'profiles.ci.warm.max: max must be at least min',
    ]);
  });

  it('lets a lane profile that carries a login, secrets and env files keep a pool', () => {
    const envFile = join(root, 'lane.env');
    writeFileSync(envFile, 'LINEAR_TOKEN=x\n');
    const r = parse(
      {},
      {
        warm: { min: 1, idleTimeout: '10m' },
        envFiles: [envFile],
        mounts: [
          { kind: 'auth', agent: 'codex', source: join(root, 'codex') },
          { kind: 'secrets', source: join(root, 'secrets') },
          { kind: 'gh', source: join(root, 'gh') },
        ],
      },
    );
    expect(r.ok ? [] : r.problems).toEqual([]);
    expect(r.ok && r.config.profiles.lane!.warm).toMatchObject({ min: 1, idleTimeout: 600_000 });
  });
});
