// What a job's gateway refused, summed up for people, and handed over before the gateway is removed.
import { describe, expect, it } from 'vitest';
import type { JobDocker } from '../../controller/docker/job-docker.js';
import { withEgressCleanup } from '../../controller/egress/egress-companion.js';
import type { EgressGateways, Refusal } from '../../controller/egress/egress-gateway.js';
import {
  blockedDestinations,
  blockedLine,
  egressRefusals,
  NAME_WITHHELD,
  refusalReporter,
} from '../../controller/egress/egress-report.js';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import type { Config } from '../../controller/config/config.js';
import { keepsRefusedNames } from '../../controller/lanes/release.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, silentLogger } from '../../controller/observe/logger.js';
import { jobObservers } from '../../controller/observe/observers.js';
import { TimelineStore } from '../../controller/observe/timeline-store.js';

const refusal = (host: string, port: number, time = '2026-01-01T00:00:00.000Z'): Refusal => ({
  kind: 'connect',
  host,
  port,
  reason: 'host not allowed',
  time,
  profile: 'lane',
});

describe('blockedLine', () => {
  it('counts each host:port, most refused first', () => {
    const r = [
      refusal('a.test', 443),
      refusal('pastebin.test', 443),
      refusal('pastebin.test', 443),
      refusal('pastebin.test', 443),
    ];
    expect(blockedLine(r)).toBe('blocked: pastebin.test:443 ×3, a.test:443');
    expect(blockedDestinations(r)[0]).toEqual({ host: 'pastebin.test', port: 443, count: 3, first: r[1]!.time });
  });

  it('says nothing when nothing was refused, and how many more past the limit', () => {
    expect(blockedLine([])).toBe('');
    expect(blockedLine([refusal('a.test', 1), refusal('b.test', 2), refusal('c.test', 3)], 2)).toBe(
      'blocked: a.test:1, b.test:2 and 1 more',
    );
  });
});

describe('withEgressCleanup', () => {
  it('reports the refusals, then removes the sidecar and the gateway; sweeps both, each runner once', async () => {
    const steps: string[] = [];
    const sidecars: JobDocker = {
      start: async () => {},
      remove: async (r) => void steps.push(`sidecar ${r}`),
      sweep: async () => ['r1', 'r2'],
    };
    const egress: EgressGateways = {
      create: async () => ({ network: 'n', address: 'a', loopback: [] }),
      refusals: async () => [refusal('pastebin.test', 443)],
      remove: async (r) => void steps.push(`gateway ${r}`),
      sweep: async () => ['r2', 'r3'],
    };
    const both = withEgressCleanup(sidecars, egress, (r, refusals) => {
      steps.push(`report ${r} ${blockedLine(refusals)}`);
    });
    await both.remove('r1');
    expect(steps).toEqual(['report r1 blocked: pastebin.test:443', 'sidecar r1', 'gateway r1']);
    expect(await both.sweep(() => false)).toEqual(['r1', 'r2', 'r3']);
  });

  it('without sidecars, a job asking for docker still fails with the reason it always had', async () => {
    const egress = {
      refusals: async () => [],
      remove: async () => {},
      sweep: async () => [],
    } as unknown as EgressGateways;
    await expect(withEgressCleanup(undefined, egress, () => {}).start({ profileName: 'ci' } as never)).rejects.toThrow(
      'profile ci asks for docker, which this backend cannot run',
    );
  });
});

describe('refusalReporter', () => {
  it("puts a runner's refusals into its job's timeline at teardown, and counts them for the metric", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'egress-report-'));
    try {
      const timeline = new TimelineStore(join(dir, 'timeline.jsonl'), silentLogger());
      timeline.stage(9, 'in_progress', { repo: 'org/app', profile: 'lane', runnerName: 'r9', at: 1_000 });
      const counted: Array<[string, number]> = [];
      const observer = jobObservers(silentLogger(), timeline, {
        stage: () => {},
        egressRefused: (profile, count) => void counted.push([profile, count]),
      });
      const egress = {
        refusals: async () => [
          refusal('pastebin.test', 443, '2026-01-01T00:00:02.000Z'),
          refusal('pastebin.test', 443, '2026-01-01T00:00:01.000Z'),
          refusal('pastebin.test', 443, '2026-01-01T00:00:03.000Z'),
        ],
        remove: async () => {},
        sweep: async () => [],
      } as unknown as EgressGateways;
      await withEgressCleanup(
        undefined,
        egress,
        refusalReporter(silentLogger(), observer, () => 5_000),
      ).remove('r9');
      expect(counted).toEqual([['lane', 3]]);
      expect(timeline.get(9)!.blocked).toEqual([
        { host: 'pastebin.test', port: 443, count: 3, first: '2026-01-01T00:00:02.000Z' },
      ]);
      expect(timeline.get(9)!.events.at(-1)).toMatchObject({ stage: 'egress-refused', at: 5_000 });
      timeline.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a lane job's refused names, spelling what the release gave it, reach neither the log nor the timeline", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'egress-report-'));
    try {
      // A lane job whose release held a credential: its folder has the release folder and an auth folder.
      const config = { stateDir: dir } as Config;
      mkdirSync(join(dir, 'jobs', 'lane-r', 'release'), { recursive: true });
      mkdirSync(join(dir, 'jobs', 'lane-r', 'auth'));
      const secret = 'sk-live-4f9a8b7c6d5e4f3a2b1c';
      const hex = Buffer.from(secret).toString('hex');
      const names = [
        `${secret}.evil.test`,
        `${hex.slice(0, 24)}.${hex.slice(24, 48)}.test`, // three labels of 24 at most: no fold of a public report
        `${hex.slice(48)}.evil.test`,
      ];
      let logged = '';
      const log = createLogger({
        destination: new Writable({
          write(chunk, _enc, done) {
            logged += chunk.toString();
            done();
          },
        }),
        pretty: false,
      });
      const timeline = new TimelineStore(join(dir, 'timeline.jsonl'), silentLogger());
      timeline.stage(9, 'in_progress', { repo: 'org/app', profile: 'lane', runnerName: 'lane-r', at: 1_000 });
      const egress = {
        refusals: async () => [...names.map((n) => refusal(n, 443)), refusal(names[0]!, 53)],
        remove: async () => {},
        sweep: async () => [],
      } as unknown as EgressGateways;
      const report = refusalReporter(
        log,
        jobObservers(log, timeline),
        () => 5_000,
        (r) => keepsRefusedNames(config, r),
      );
      await withEgressCleanup(undefined, egress, report).remove('lane-r');
      timeline.close();
      const kept = [logged, JSON.stringify(timeline.get(9)), readFileSync(join(dir, 'timeline.jsonl'), 'utf8')];
      for (const record of kept) {
        expect(record).not.toContain('evil');
        for (const piece of [secret, hex.slice(0, 24), hex.slice(24, 48), hex.slice(48)])
          expect(record).not.toContain(piece);
      }
      // What was refused is still told: how often, on which port.
      expect(timeline.get(9)!.blocked).toEqual([
        { host: NAME_WITHHELD, port: 443, count: 3, first: expect.any(String) },
        { host: NAME_WITHHELD, port: 53, count: 1, first: expect.any(String) },
      ]);
      expect(logged).toContain(`blocked: ${NAME_WITHHELD}:443 ×3, ${NAME_WITHHELD}:53`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps the names of a job that was released no credential, and withholds them when the decision fails', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'egress-report-'));
    try {
      const config = { stateDir: dir } as Config;
      // Trusted for its network alone: a release folder, no credential folder, no env-file values.
      mkdirSync(join(dir, 'jobs', 'net-r', 'release'), { recursive: true });
      writeFileSync(join(dir, 'jobs', 'net-r', 'release', 'released.json'), '{}');
      expect(await keepsRefusedNames(config, 'net-r')).toBe(true);
      expect(await keepsRefusedNames(config, 'tier1-r')).toBe(true);
      const seen: string[] = [];
      const observer = {
        stage: () => {},
        egressRefused: (_p: string, _n: number, s?: { blocked: Array<{ host: string }> }) =>
          void seen.push(...(s?.blocked.map((d) => d.host) ?? [])),
      };
      await refusalReporter(silentLogger(), observer, undefined, (r) => keepsRefusedNames(config, r))('net-r', [
        refusal('pastebin.test', 443),
      ]);
      await refusalReporter(silentLogger(), observer, undefined, () => Promise.reject(new Error('EIO')))('x', [
        refusal('pastebin.test', 443),
      ]);
      expect(seen).toEqual(['pastebin.test', NAME_WITHHELD]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('hands over the most refused destinations and how many more there were', () => {
    const r = [refusal('a.test', 1), refusal('b.test', 2), refusal('b.test', 2), refusal('c.test', 3)];
    expect(egressRefusals('r1', r, 7, 2)).toEqual({
      runnerName: 'r1',
      blocked: [
        { host: 'b.test', port: 2, count: 2, first: r[1]!.time },
        { host: 'a.test', port: 1, count: 1, first: r[0]!.time },
      ],
      more: 1,
      at: 7,
    });
    expect(egressRefusals('r1', r, 7).more).toBeUndefined();
  });
});
