// What `/status` reports per repo and profile, and how `factory status` lays it out: pure functions, plain data.
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../controller/config/config.js';
import type { PendingJob } from '../../controller/model/job.js';
import type { RunnerView } from '../../controller/model/runner.js';
import { RECENT_WINDOW_MS, statusSnapshot } from '../../controller/status/status-snapshot.js';
import { age, table } from '../../controller/status/status-table.js';
import type { JobTimeline } from '../../controller/observe/timeline.js';

const config = configSchema.parse({
  github: { auth: { tokenEnv: 'T' }, webhook: { secret: { env: 'S' } } },
  profiles: { ci: { labels: ['factory', 'ci'], image: 'ci' }, big: { labels: ['factory', 'big'], image: 'ci' } },
  repos: [
    { repo: 'org/app', profiles: ['ci', 'big'] },
    { repo: 'org/web', profiles: ['ci'] },
  ],
});
const now = 10 * RECENT_WINDOW_MS;

const job = (
  jobId: number,
  repo: string,
  profile: string,
  at: number,
  last: 'cleaned' | 'failed' | 'taken',
): JobTimeline => ({
  jobId,
  repo,
  profile,
  events: [
    { jobId, repo, stage: 'queued', at },
    {
      jobId,
      repo,
      profile,
      stage: last,
      at: at + 500,
      ...(last === 'failed' ? { detail: 'image x not found on this host (profile ci)' } : {}),
    },
  ],
});

describe('statusSnapshot', () => {
  it('counts running, queued, last-hour and failed jobs for each repo and profile', () => {
    const runners = [
      {
        identity: { repo: 'org/app', profileName: 'ci', jobId: 5, runnerName: 'r5' },
        busy: true,
        startedAt: now - 1_000,
        containerId: 'abcdef0123456789',
      },
    ];
    const queued = [{ jobId: 6, repo: 'org/app', profileName: 'big', receivedAt: now - 2_000 }];
    const timelines = [
      job(4, 'org/app', 'ci', now - 60_000, 'failed'),
      job(3, 'org/app', 'ci', now - 120_000, 'cleaned'),
      job(2, 'org/app', 'ci', now - RECENT_WINDOW_MS - 1, 'failed'), // older than the last hour
      job(1, 'org/web', 'ci', now - 3 * RECENT_WINDOW_MS, 'cleaned'),
    ];

    const s = statusSnapshot({
      config,
      runners: runners as unknown as RunnerView[],
      queued: queued as unknown as PendingJob[],
      timelines,
      dockerUp: true,
      now,
    });

    expect(s.rows).toEqual([
      { repo: 'org/app', profile: 'ci', running: 1, queued: 0, recent: 2, failed: 1, lastJobAt: now - 60_000 },
      { repo: 'org/app', profile: 'big', running: 0, queued: 1, recent: 0, failed: 0 },
      {
        repo: 'org/web',
        profile: 'ci',
        running: 0,
        queued: 0,
        recent: 0,
        failed: 0,
        lastJobAt: now - 3 * RECENT_WINDOW_MS,
      },
    ]);
    expect(s.running).toEqual([
      {
        runnerName: 'r5',
        repo: 'org/app',
        profile: 'ci',
        jobId: 5,
        busy: true,
        startedAt: now - 1_000,
        container: 'abcdef012345',
      },
    ]);
    expect(s.recent[0]).toMatchObject({
      jobId: 4,
      stage: 'failed',
      detail: 'image x not found on this host (profile ci)',
    });
    expect(s).toMatchObject({ docker: 'up', lastError: null });
  });
});

describe('status table', () => {
  it('pads columns to the widest cell and right-aligns numbers', () => {
    expect(
      table(
        ['REPO', 'RUNNING'],
        [
          ['org/app', 1],
          ['o/r', 12],
        ],
      ),
    ).toBe(['REPO     RUNNING', 'org/app        1', 'o/r           12'].join('\n'));
  });

  it('gives ages in the largest unit that keeps them short', () => {
    expect([age(4_400), age(150_000), age(3 * 3_600_000), age(3 * 86_400_000)]).toEqual(['4s', '3m', '3h', '3d']);
  });
});
