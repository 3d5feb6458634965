// The per-job timeline: bounded, kept in a JSON-lines file that a restarted controller reads back.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../controller/observe/logger.js';
import { TimelineStore } from '../../controller/observe/timeline-store.js';
import { redactLine } from '../../controller/observe/redact.js';

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'timeline-'));
  file = join(dir, 'state', 'timeline.jsonl');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const f = { repo: 'org/app', profile: 'ci', runnerName: 'factory-app-1-abc' };

function runJob(store: TimelineStore, jobId: number, at = 1_000): void {
  store.stage(jobId, 'queued', { repo: 'org/app', at });
  store.stage(jobId, 'taken', { ...f, at: at + 1 });
  store.stage(jobId, 'container-started', { ...f, at: at + 300 });
  store.stage(jobId, 'cleaned', {
    ...f,
    detail: 'container exited',
    lastLines: ['Listening for Jobs', 'Job 1 completed with result: Succeeded', ''],
    at: at + 2_000,
  });
}

describe('TimelineStore', () => {
  it('a restarted store reads back every job with its stages and the container last lines', () => {
    const first = new TimelineStore(file, silentLogger());
    runJob(first, 1);
    first.close();

    const second = new TimelineStore(file, silentLogger());
    const job = second.get(1)!;
    expect(job).toMatchObject({ jobId: 1, repo: 'org/app', profile: 'ci', runnerName: f.runnerName });
    expect(job.events.map((e) => e.stage)).toEqual(['queued', 'taken', 'container-started', 'cleaned']);
    expect(job.events[3]).toMatchObject({
      detail: 'container exited',
      lines: ['Listening for Jobs', 'Job 1 completed with result: Succeeded'],
    });
    second.close();
  });

  it('keeps only the most recent jobs, in memory and in the file after compaction', () => {
    const store = new TimelineStore(file, silentLogger(), 3);
    for (let id = 1; id <= 5; id++) runJob(store, id, id * 10_000);
    expect(store.recent().map((j) => j.jobId)).toEqual([5, 4, 3]);
    expect(store.get(1)).toBeUndefined();
    store.close();

    const reopened = new TimelineStore(file, silentLogger(), 3);
    reopened.close();
    const jobsInFile = new Set(
      readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { jobId: number }).jobId),
    );
    expect([...jobsInFile]).toEqual([3, 4, 5]);
  });

  it('a compaction that cannot write its temp file leaves the file whole and appending', () => {
    const store = new TimelineStore(file, silentLogger(), 1);
    mkdirSync(`${file}.tmp`); // the temp file cannot be created: compaction fails every time
    for (let id = 1; id <= 10; id++) runJob(store, id, id * 10_000); // 40 events, past the 24 that start a compaction
    store.close();
    rmSync(`${file}.tmp`, { recursive: true });

    const jobsInFile = new Set(
      readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { jobId: number }).jobId),
    );
    expect([...jobsInFile]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const reopened = new TimelineStore(file, silentLogger(), 1);
    expect(reopened.recent().map((j) => j.jobId)).toEqual([10]);
    reopened.close();
  });

  it('skips a line torn by a crash, or one that is not a stage event, and keeps the rest', () => {
    const store = new TimelineStore(file, silentLogger());
    runJob(store, 1);
    store.close();
    appendFileSync(file, '{"jobId":3,"stage":"queued","at":5}\n'); // parses, but has no repo for the status table
    appendFileSync(file, '{"jobId":2,"stage":"que');

    const reopened = new TimelineStore(file, silentLogger());
    expect(reopened.recent().map((j) => j.jobId)).toEqual([1]);
    reopened.close();
  });

  it('says which file it cannot use', () => {
    writeFileSync(join(dir, 'not-a-dir'), '');
    expect(() => new TimelineStore(join(dir, 'not-a-dir', 'timeline.jsonl'), silentLogger())).toThrow(
      `stateDir: cannot keep the job timeline in ${join(dir, 'not-a-dir', 'timeline.jsonl')} (EEXIST)`,
    );
  });

  it('never stores token shapes a job printed to the runner log', () => {
    const store = new TimelineStore(file, silentLogger());
    const token = 'ghs_' + 'a'.repeat(36);
    store.stage(1, 'cleaned', {
      ...f,
      lastLines: [`token is ${token}`, 'Authorization: Bearer abcdefghijklmnopqrstuvwxyz'],
      at: 1,
    });
    store.close();

    expect(readFileSync(file, 'utf8')).not.toContain(token);
    expect(readFileSync(file, 'utf8')).not.toContain('abcdefghijklmnopqrstuvwxyz');
    expect(redactLine(`x ${token} y`)).toBe('x [redacted] y');
    expect(redactLine('Authorization: Bearer abcdefghijklmnopqrstuvwxyz')).toBe('Authorization: Bearer [redacted]');
  });
});
