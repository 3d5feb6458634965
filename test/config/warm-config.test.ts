// `warm` on a profile, at the config edge: what is accepted, and every refusal located. Warm pools for profiles that
// carry credentials or secrets are refused until credentials are released only on a verified assignment.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { parseConfig, warmAllowed } from '../../controller/config/config.js';
import { main } from '../../controller/commands/cli.js';

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

  it('refuses a warm pool for a profile that carries a login, secrets or env files, and names what it carries', () => {
    const warm = { min: 1, idleTimeout: '10m' };
    expect(problems({}, { warm })).toEqual([
      'profiles.lane.warm: warm pools need credentials released on assignment; profile "lane" carries an auth mount, which an idle warm container would hold before any job is verified as entitled to it: remove warm from this profile',
    ]);
    const envFile = join(root, 'lane.env');
    const carried = problems(
      {},
      {
        warm,
        envFiles: [envFile],
        mounts: [
          { kind: 'secrets', source: join(root, 'secrets') },
          { kind: 'gh', source: join(root, 'gh') },
        ],
      },
    );
    expect(carried).toHaveLength(1);
    expect(carried[0]).toContain('carries a secrets mount, a gh login mount, env files,');
  });

  it('lets a trusted profile without credentials or secrets keep a pool', () => {
    const r = parse(
      {},
      { warm: { min: 1, idleTimeout: '10m' }, mounts: [{ kind: 'data', source: root, target: '/data/store' }] },
    );
    expect(r.ok).toBe(true);
    if (r.ok) expect(warmAllowed(r.config.profiles.lane!)).toBe(true);
  });

  it('factory validate exits 1 with the located refusal', async () => {
    const file = join(root, 'factory.yml');
    writeFileSync(file, stringify(config({}, { warm: { min: 1, idleTimeout: '10m' } })));
    const out: string[] = [];
    const code = await main(['validate', '--config', file], {
      stdout: (s) => out.push(s),
      stderr: (s) => out.push(s),
    });
    expect(code).toBe(1);
    expect(out.join('\n')).toMatch(
      /factory\.yml:\d+: profiles\.lane\.warm: warm pools need credentials released on assignment/,
    );
  });
});
