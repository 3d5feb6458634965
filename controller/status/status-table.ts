// Plain-text tables for `factory status`: pure functions of what the controller's status endpoint answered.
import type { StatusSnapshot } from './status-snapshot.js';
import type { JobTimeline } from '../observe/timeline.js';
import { blockedText } from '../model/egress-refusals.js';

// ESC sequences (CSI, OSC ending in BEL or ST, and two-byte ones), then any other C0, DEL or C1 control character.
const ESCAPES = /\u001b(?:\[[0-?]*[ -/]*[@-~]|\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|[@-Z\\-_])/g;
const CONTROLS = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * Text a job wrote, made safe to print on the operator's terminal: a job's output could otherwise clear the screen,
 * move the cursor over earlier lines, retitle the window or rewrite the clipboard (OSC 52). Tabs become spaces.
 */
export function printable(text: string): string {
  return text.replace(/\t/g, ' ').replace(ESCAPES, '').replace(CONTROLS, '');
}

/** "4s", "3m", "2h", "5d": how long ago, or how long, at a glance. */
export function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}

const seconds = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(2)}s`);

/** Columns padded to their widest cell; numbers right-aligned. */
export function table(header: string[], rows: Array<Array<string | number>>): string {
  const cells = [header, ...rows.map((r) => r.map((c) => printable(String(c))))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number'));
  return cells
    .map((r) =>
      r
        .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function lastErrorLine(s: StatusSnapshot): string {
  if (s.lastError === null) return 'none';
  return s.lastErrorAt === null ? s.lastError : `${age(s.now - s.lastErrorAt)} ago: ${s.lastError}`;
}

export function renderStatus(s: StatusSnapshot, url: string): string {
  const out: string[] = [
    printable(
      `factory · instance ${s.instance} · docker ${s.docker} · github ${s.github.state} · ${s.running.length} running · ${s.queued.length} queued · ${url}`,
    ),
    `last error: ${printable(lastErrorLine(s))}`,
    printable(
      `disk: ${s.disk.map((d) => `${d.path} ${Math.round(d.usedRatio * 100)}% used`).join(', ') || 'not measured yet'}`,
    ),
    `housekeeping: ${printable(housekeepingLine(s))}`,
    '',
    table(
      ['REPO', 'GITHUB', 'SINCE', 'LAST GITHUB ERROR'],
      s.github.repos.map((r) => [
        r.repo,
        r.state,
        r.since === undefined ? '-' : `${age(s.now - r.since)} ago`,
        r.lastError === undefined ? '-' : `${age(s.now - (r.lastErrorAt ?? s.now))} ago: ${r.lastError}`,
      ]),
    ),
    '',
    table(
      ['REPO', 'PROFILE', 'RUNNING', 'QUEUED', 'LAST HOUR', 'FAILED', 'LAST JOB'],
      s.rows.map((r) => [
        r.repo,
        r.profile,
        r.running,
        r.queued,
        r.recent,
        r.failed,
        r.lastJobAt === undefined ? '-' : `${age(s.now - r.lastJobAt)} ago`,
      ]),
    ),
  ];
  if (s.pools.length > 0) {
    out.push(
      '',
      'WARM POOLS',
      table(
        ['REPO', 'PROFILE', 'SIZE NOW', 'IDLE', 'STARTING', 'RUNNERS'],
        s.pools.map((p) => [p.repo, p.profile, p.target, p.idle, p.starting, p.live]),
      ),
    );
  }
  if (s.scaleSets.length > 0) {
    out.push(
      '',
      'SCALE SETS',
      table(
        ['SCOPE', 'SCALE SET', 'ID', 'SESSION', 'LAST MESSAGE', 'ACQUIRED', 'ASSIGNED', 'RUNNING', 'LAST ERROR'],
        s.scaleSets.map((x) => [
          x.scope,
          x.name,
          x.scaleSetId ?? '-',
          x.session,
          x.lastMessageId,
          x.pending,
          x.statistics?.totalAssignedJobs ?? '-',
          x.statistics?.totalRunningJobs ?? '-',
          printable(x.lastError ?? ''),
        ]),
      ),
    );
  }
  if (s.running.length > 0) {
    out.push(
      '',
      'RUNNING',
      table(
        ['RUNNER', 'REPO', 'PROFILE', 'FOR JOB', 'STATE', 'AGE'],
        s.running.map((r) => [
          r.runnerName,
          r.repo,
          r.profile,
          r.warm ? 'warm' : String(r.jobId),
          r.busy ? 'busy' : r.container ? 'idle' : 'starting',
          age(s.now - r.startedAt),
        ]),
      ),
    );
  }
  if (s.queued.length > 0) {
    out.push(
      '',
      'QUEUED',
      table(
        ['JOB', 'REPO', 'PROFILE', 'WAITING'],
        s.queued.map((q) => [String(q.jobId), q.repo, q.profile, age(s.now - q.receivedAt)]),
      ),
    );
  }
  if (s.recent.length > 0) {
    out.push(
      '',
      'RECENT JOBS',
      table(
        ['JOB', 'REPO', 'PROFILE', 'STAGE', 'PICKUP', 'AGE', 'DETAIL'],
        s.recent.map((j) => [
          String(j.jobId),
          j.repo,
          j.profile ?? '-',
          j.stage,
          seconds(j.pickupMs),
          age(s.now - (j.queuedAt ?? j.lastAt)),
          [j.detail, j.blocked].filter(Boolean).join('; '),
        ]),
      ),
    );
  }
  return out.join('\n');
}

function housekeepingLine(s: StatusSnapshot): string {
  const { last, nextAt } = s.housekeeping;
  const next = nextAt === null ? 'not scheduled' : `next in ${age(nextAt - s.now)}`;
  if (!last) return `no run yet, ${next}`;
  const what = last.error
    ? `failed: ${last.error}`
    : `removed ${last.removed.containers} container(s), ${last.removed.images} image(s), ${last.removed.volumes} volume(s)`;
  return `last run ${age(s.now - last.at)} ago, ${what}; ${next}`;
}

const clock = (at: number) => new Date(at).toISOString().slice(11, 23);

export function renderJob(job: JobTimeline): string {
  const start = job.events[0]?.at ?? 0;
  const out = [
    printable(`job ${job.jobId} · ${job.repo} · profile ${job.profile ?? '-'} · runner ${job.runnerName ?? '-'}`),
    '',
    table(
      ['TIME (UTC)', 'AFTER', 'STAGE', 'RUNNER', 'DETAIL'],
      job.events.map((e) => [
        clock(e.at),
        `+${seconds(e.at - start)}`,
        e.stage,
        e.runnerName ?? '',
        e.detail ?? blockedText(e.blocked ?? [], 10, e.more ?? 0),
      ]),
    ),
  ];
  // What the agent tried to reach and was refused: the line a workflow author looks for first.
  if (job.blocked?.length) out.push('', printable(blockedText(job.blocked, 10, job.blockedMore ?? 0)));
  for (const e of job.events) {
    if (!e.lines?.length) continue;
    out.push(
      '',
      printable(`last log lines of ${e.runnerName ?? 'the runner container'}:`),
      ...e.lines.map((l) => `  | ${printable(l)}`),
    );
  }
  return out.join('\n');
}

/** JSON for a terminal: JSON.stringify escapes C0 controls but not C1 ones (U+0080..U+009F, 8-bit CSI among them). */
export function printableJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(
    /[\u007f-\u009f]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
