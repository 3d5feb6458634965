// A full disk at start: the timeline's compaction fails, the controller starts all the same (as at run time).
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { silentLogger } from '../../controller/observe/logger.js';
import { TimelineStore } from '../../controller/observe/timeline-store.js';

it('opens a timeline whose start-up compaction hits a full disk, and keeps appending to the file as it is', () => {
  const dir = mkdtempSync(join(tmpdir(), 'factory-full-'));
  try {
    const file = join(dir, 'timeline.jsonl');
    writeFileSync(file, JSON.stringify({ jobId: 1, stage: 'completed', repo: 'org/app', at: 1 }) + '\n');
    // Compaction writes `<file>.tmp`; /dev/full answers every write with ENOSPC, as a full disk does.
    symlinkSync('/dev/full', `${file}.tmp`);

    const store = new TimelineStore(file, silentLogger());
    store.stage(2, 'queued', { repo: 'org/app', at: 2 });

    expect(store.completedJobs()).toEqual([1]);
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(2);
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
