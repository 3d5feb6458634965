// What a job's egress gateway refused is part of the job's record: GET /jobs/ID, `factory status` and the restarted
// controller's timeline say "blocked: pastebin.test:443 ×3", without it ever reading as the job's stage.
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../controller/observe/logger.js';
import { jobObservers } from '../../controller/observe/observers.js';
import { TimelineStore } from '../../controller/observe/timeline-store.js';
import { summarize } from '../../controller/observe/timeline.js';
import { statusSnapshot } from '../../controller/status/status-snapshot.js';
import { renderJob, renderStatus } from '../../controller/status/status-table.js';
import type { EgressRefusals } from '../../controller/model/egress-refusals.js';
import type { Config } from '../../controller/config/config.js';

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'timeline-egress-'));
  file = join(dir, 'timeline.jsonl');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const runner = 'factory-app-7-abc';
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

function ranJob(store: TimelineStore, jobId: number, runnerName = runner): void {
  store.stage(jobId, 'queued', { repo: 'org/app', at: T0 });
  store.stage(jobId, 'container-started', { repo: 'org/app', profile: 'lane', runnerName, at: T0 + 500 });
  store.stage(jobId, 'in_progress', { repo: 'org/app', profile: 'lane', runnerName, at: T0 + 900 });
  store.stage(jobId, 'completed', { repo: 'org/app', profile: 'lane', runnerName, at: T0 + 60_000 });
  store.stage(jobId, 'cleaned', { repo: 'org/app', profile: 'lane', runnerName, at: T0 + 61_000 });
}

const seen = (over: Partial<EgressRefusals> = {}): EgressRefusals => ({
  runnerName: runner,
  blocked: [
    { host: 'pastebin.test', port: 443, count: 3, first: '2026-01-01T12:00:05.000Z' },
    { host: 'exfil.test', port: 53, count: 1, first: '2026-01-01T12:00:07.000Z' },
  ],
  at: T0 + 61_500,
  ...over,
});

describe('egress refusals in the timeline', () => {
  it('joins the job its runner ran, survives a restart, and leaves the stage as it was', () => {
    const store = new TimelineStore(file, silentLogger());
    ranJob(store, 6, 'factory-app-6-xyz');
    ranJob(store, 7);
    jobObservers(silentLogger(), store).egressRefused!('lane', 4, seen());
    store.close();

    const again = new TimelineStore(file, silentLogger());
    const job = again.get(7)!;
    expect(job.blocked).toEqual(seen().blocked);
    expect(job.events.at(-1)).toMatchObject({ stage: 'egress-refused', runnerName: runner, at: T0 + 61_500 });
    expect(again.get(6)!.blocked).toBeUndefined();
    const summary = summarize(job);
    expect(summary.stage).toBe('cleaned');
    expect(summary.lastAt).toBe(T0 + 61_000);
    expect(summary.blocked).toBe('blocked: pastebin.test:443 ×3, exfil.test:53');
    again.close();
  });

  it('adds up what two gateways of one job refused (a launch retried on a new runner)', () => {
    const store = new TimelineStore(file, silentLogger());
    ranJob(store, 7);
    store.stage(7, 'runner-created', { repo: 'org/app', profile: 'lane', runnerName: 'second', at: T0 + 62_000 });
    store.egressRefused('lane', 4, seen());
    store.egressRefused('lane', 2, {
      runnerName: 'second',
      blocked: [{ host: 'exfil.test', port: 53, count: 2, first: '2026-01-01T12:00:01.000Z' }],
      at: T0 + 63_000,
    });
    expect(store.get(7)!.blocked).toEqual([
      { host: 'exfil.test', port: 53, count: 3, first: '2026-01-01T12:00:01.000Z' },
      { host: 'pastebin.test', port: 443, count: 3, first: '2026-01-01T12:00:05.000Z' },
    ]);
    store.close();
  });

  it('goes to the job the runner ran, not the one it was started for (GitHub hands a job to any idle runner)', () => {
    const store = new TimelineStore(file, silentLogger());
    // Job 8 was queued first; the runner started for job 9 picked it up, and job 9 went to another runner.
    store.stage(8, 'queued', { repo: 'org/app', at: T0 });
    store.stage(9, 'queued', { repo: 'org/app', at: T0 + 1 });
    store.stage(9, 'runner-created', { repo: 'org/app', profile: 'lane', runnerName: runner, at: T0 + 2 });
    store.stage(8, 'in_progress', { repo: 'org/app', profile: 'lane', runnerName: runner, at: T0 + 3 });
    store.stage(9, 'in_progress', { repo: 'org/app', profile: 'lane', runnerName: 'other', at: T0 + 4 });
    store.egressRefused('lane', 4, seen());
    expect(store.get(8)!.blocked).toEqual(seen().blocked);
    expect(store.get(9)!.blocked).toBeUndefined();
    store.close();
  });

  it('keeps a bounded list and counts the rest, however many names a job tries', () => {
    const store = new TimelineStore(file, silentLogger());
    ranJob(store, 7);
    const blocked = Array.from({ length: 500 }, (_, i) => ({
      host: `c${i}.tunnel.test`,
      port: 53,
      count: 1,
      first: '2026-01-01T12:00:05.000Z',
    }));
    store.egressRefused('lane', 500, seen({ blocked, more: 1_000 }));
    const job = store.get(7)!;
    expect(job.blocked).toHaveLength(20);
    expect(job.blockedMore).toBe(1_480);
    expect(summarize(job).blocked).toBe(
      'blocked: c0.tunnel.test:53, c1.tunnel.test:53, c2.tunnel.test:53 and 1497 more',
    );
    store.close();
    expect(readFileSync(file, 'utf8').length).toBeLessThan(5_000);
  });

  it('redacts a token smuggled in a name, in memory and in the file', () => {
    const token = `ghp_${'a'.repeat(36)}`;
    const store = new TimelineStore(file, silentLogger());
    ranJob(store, 7);
    store.egressRefused('lane', 1, seen({ blocked: [{ host: `${token}.x.test`, port: 53, count: 1, first: 't' }] }));
    store.close();
    expect(readFileSync(file, 'utf8')).not.toContain(token);
    const again = new TimelineStore(file, silentLogger());
    expect(again.get(7)!.blocked![0]!.host).toBe('[redacted].x.test');
    again.close();
  });

  it('records nothing for a runner no retained job names, nor for an empty report', () => {
    const warnings: unknown[] = [];
    const log = { ...silentLogger(), warn: (o: unknown) => void warnings.push(o) } as never;
    const store = new TimelineStore(file, log);
    ranJob(store, 7);
    store.egressRefused('lane', 4, seen({ runnerName: 'someone-else' }));
    store.egressRefused('lane', 0, seen({ blocked: [] }));
    store.egressRefused('lane', 4);
    expect(store.get(7)!.blocked).toBeUndefined();
    expect(store.get(7)!.events.map((e) => e.stage)).not.toContain('egress-refused');
    expect(warnings).toEqual([{ runner: 'someone-else' }]);
    store.close();
  });

  it('skips a replayed line whose refusals are not well formed', () => {
    const store = new TimelineStore(file, silentLogger());
    ranJob(store, 7);
    store.close();
    const bad = {
      jobId: 7,
      stage: 'egress-refused',
      repo: 'org/app',
      at: T0 + 1,
      blocked: [{ host: 'a', port: '443' }],
    };
    appendFileSync(file, JSON.stringify(bad) + '\n');
    const again = new TimelineStore(file, silentLogger());
    expect(again.get(7)!.blocked).toBeUndefined();
    expect(again.get(7)!.events).toHaveLength(5);
    again.close();
  });

  it('shows in `factory status --job ID` and in the recent jobs of `factory status`', () => {
    const store = new TimelineStore(file, silentLogger());
    ranJob(store, 7);
    store.egressRefused('lane', 4, seen());
    const job = store.get(7)!;
    const text = renderJob(JSON.parse(JSON.stringify(job)));
    expect(text).toMatch(/egress-refused\s+factory-app-7-abc\s+blocked: pastebin\.test:443 ×3, exfil\.test:53/);
    expect(text.split('\n').at(-1)).toBe('blocked: pastebin.test:443 ×3, exfil.test:53');

    const config = { instance: 'x', repos: [{ repo: 'org/app', profiles: ['lane'] }], orgs: [] } as unknown as Config;
    const snapshot = statusSnapshot({
      config,
      runners: [],
      queued: [],
      timelines: store.recent(),
      dockerUp: true,
      now: T0 + 70_000,
    });
    expect(snapshot.recent[0]).toMatchObject({ jobId: 7, stage: 'cleaned' });
    expect(snapshot.rows[0]).toMatchObject({ recent: 1, failed: 0 });
    expect(renderStatus(snapshot, 'http://127.0.0.1:1')).toMatch(
      /7\s+org\/app\s+lane\s+cleaned\s+.*blocked: pastebin\.test:443 ×3, exfil\.test:53/,
    );
    store.close();
  });
});
