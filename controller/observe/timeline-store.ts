// The job timeline, kept after containers are gone and across restarts: an append-only JSON-lines file of stage
// events, replayed at start and rewritten (atomically) with only the retained jobs when it has grown well past them.
// Writes are synchronous: a few hundred bytes per stage, and the observer contract is synchronous and must not throw.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { JobObserver, JobStage } from '../model/job.js';
import type { BlockedDestination, EgressRefusals } from '../model/egress-refusals.js';
import type { Logger } from './logger.js';
import { MAX_BLOCKED_PER_JOB, Timelines, type JobTimeline, type TimelineEvent } from './timeline.js';
import { redactLine } from './redact.js';

export const DEFAULT_TIMELINE_JOBS = 1_000;
// A job has about eight events; compact once the file holds roughly three times what is retained.
const EVENTS_PER_JOB_BEFORE_COMPACTION = 24;

/** What /status and `factory status` rely on; a line without it would break every status answer, not only its own. */
function isEvent(x: unknown): x is TimelineEvent {
  const e = x as Partial<TimelineEvent> | null;
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof e.jobId === 'number' &&
    typeof e.stage === 'string' &&
    typeof e.repo === 'string' &&
    typeof e.at === 'number' &&
    (e.lines === undefined || (Array.isArray(e.lines) && e.lines.every((l) => typeof l === 'string'))) &&
    (e.blocked === undefined || (Array.isArray(e.blocked) && e.blocked.every(isBlocked))) &&
    (e.more === undefined || (Number.isSafeInteger(e.more) && e.more >= 0))
  );
}

function isBlocked(x: unknown): x is BlockedDestination {
  const d = x as Partial<BlockedDestination> | null;
  return (
    typeof d === 'object' &&
    d !== null &&
    typeof d.host === 'string' &&
    Number.isInteger(d.port) &&
    Number.isSafeInteger(d.count) &&
    typeof d.first === 'string'
  );
}

export class TimelineStore implements JobObserver {
  private readonly timelines: Timelines;
  private fd: number | undefined;
  private eventsInFile = 0;
  private writeFailed = false;

  /** Opens (creating the folder and file as needed) and replays `file`; throws with the path when it cannot. */
  constructor(
    readonly file: string,
    private readonly log: Logger,
    max = DEFAULT_TIMELINE_JOBS,
  ) {
    this.timelines = new Timelines(max);
    try {
      mkdirSync(dirname(file), { recursive: true, mode: 0o750 });
      this.replay();
    } catch (err) {
      throw new Error(
        `stateDir: cannot keep the job timeline in ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
      );
    }
    // Compaction at start is best effort, as it is at run time: a full disk must not keep the controller down.
    try {
      this.compact();
    } catch (err) {
      this.log.warn({ file, err: String(err) }, 'timeline: compaction at start failed; appending to the file as it is');
      this.eventsInFile = this.timelines.events().length;
      try {
        this.fd = openSync(file, 'a', 0o600);
      } catch (openErr) {
        this.log.error({ file, err: String(openErr) }, 'timeline: cannot write; keeping it in memory only');
        this.writeFailed = true;
      }
    }
  }

  /** Jobs whose timeline shows them completed: a replayed `queued` for one must start nothing after a restart. */
  completedJobs(): number[] {
    return this.timelines
      .events()
      .filter((e) => e.stage === 'completed')
      .map((e) => e.jobId);
  }

  private replay(): void {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    let bad = 0;
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        const event = JSON.parse(line) as unknown;
        if (isEvent(event)) this.timelines.apply(event);
        else bad++;
      } catch {
        bad++; // a line torn by a crash mid-write
      }
    }
    if (bad > 0) this.log.warn({ file: this.file, bad }, 'timeline: skipped unreadable lines');
  }

  /**
   * Rewrites the file with the retained events only: a temp file beside it, fsynced (a crash right after the rename
   * must not leave an empty timeline), renamed over it. Until the rename the old file and its append handle stay.
   */
  private compact(): void {
    const events = this.timelines.events();
    const temp = `${this.file}.tmp`;
    try {
      const fd = openSync(temp, 'w', 0o600);
      try {
        writeSync(fd, events.map((e) => JSON.stringify(e) + '\n').join(''));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(temp, this.file);
    } catch (err) {
      try {
        unlinkSync(temp);
      } catch {
        // It may never have been created.
      }
      throw err;
    }
    this.close();
    this.eventsInFile = events.length;
    this.fd = openSync(this.file, 'a', 0o600);
  }

  stage(
    jobId: number,
    stage: JobStage,
    f: { repo: string; profile?: string; runnerName?: string; detail?: string; lastLines?: string[]; at: number },
  ): void {
    const event: TimelineEvent = { jobId, stage, repo: f.repo, at: f.at };
    if (f.profile) event.profile = f.profile;
    if (f.runnerName) event.runnerName = f.runnerName;
    if (f.detail) event.detail = f.detail;
    const lines = f.lastLines?.filter((l) => l.trim() !== '');
    if (lines?.length) event.lines = lines.map(redactLine);
    if (!this.timelines.apply(event)) return;
    this.persist(event);
  }

  /**
   * A job's refused destinations become an event of its own timeline, found by the runner that ran it. A name the
   * job asked for can carry what it tried to leak (a DNS tunnel), so names are redacted like log lines.
   */
  egressRefused(_profile: string, _count: number, seen?: EgressRefusals): void {
    if (!seen || (seen.blocked.length === 0 && !seen.more)) return;
    const job = this.timelines.byRunner(seen.runnerName);
    if (!job) {
      this.log.warn({ runner: seen.runnerName }, 'timeline: egress refusals for a runner no retained job names');
      return;
    }
    const blocked = seen.blocked.slice(0, MAX_BLOCKED_PER_JOB).map((d) => ({ ...d, host: redactLine(d.host) }));
    const more = (seen.more ?? 0) + Math.max(0, seen.blocked.length - MAX_BLOCKED_PER_JOB);
    const event: TimelineEvent = {
      jobId: job.jobId,
      stage: 'egress-refused',
      repo: job.repo,
      runnerName: seen.runnerName,
      blocked,
      at: seen.at,
    };
    if (job.profile) event.profile = job.profile;
    if (more > 0) event.more = more;
    if (!this.timelines.apply(event)) return;
    this.persist(event);
  }

  private persist(event: TimelineEvent): void {
    if (this.fd === undefined) return;
    try {
      writeSync(this.fd, JSON.stringify(event) + '\n');
      this.writeFailed = false;
    } catch (err) {
      // The timeline is a convenience: a full disk must not stop jobs. Say so once, keep serving from memory.
      if (!this.writeFailed)
        this.log.error({ file: this.file, err: String(err) }, 'timeline: cannot write; keeping it in memory only');
      this.writeFailed = true;
      return;
    }
    if (++this.eventsInFile <= this.timelines.max * EVENTS_PER_JOB_BEFORE_COMPACTION) return;
    try {
      this.compact();
    } catch (err) {
      // Appending goes on to the uncompacted file; the next attempt waits for as many events again, not the next one.
      this.eventsInFile = this.timelines.events().length;
      this.log.warn(
        { file: this.file, err: String(err) },
        'timeline: compaction failed; the file keeps growing until the next attempt',
      );
    }
  }

  get(jobId: number): JobTimeline | undefined {
    return this.timelines.get(jobId);
  }

  recent(limit?: number): JobTimeline[] {
    return this.timelines.recent(limit);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
