// What a job's gateway refused, summed up for people, and handed over before the gateway is removed.
import { describe, expect, it } from 'vitest';
import type { JobDocker } from '../../controller/docker/job-docker.js';
import { withEgressCleanup } from '../../controller/egress/egress-companion.js';
import type { EgressGateways, Refusal } from '../../controller/egress/egress-gateway.js';
import {
  blockedDestinations,
  blockedLine,
  egressRefusals,
  refusalReporter,
} from '../../controller/egress/egress-report.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../controller/observe/logger.js';
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
    const both = withEgressCleanup(sidecars, egress, (r, refusals) =>
      steps.push(`report ${r} ${blockedLine(refusals)}`),
    );
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
