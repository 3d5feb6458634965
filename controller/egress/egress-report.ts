// What a job's gateway refused, said the way a workflow author reads it: "blocked: pastebin.test:443 ×3".
import { blockedText, type BlockedDestination, type EgressRefusals } from '../model/egress-refusals.js';
import type { JobObserver } from '../model/job.js';
import type { Logger } from '../observe/logger.js';
import type { Refusal } from './egress-gateway.js';

export type { BlockedDestination };

/** One entry per host:port, most refused first; a DNS refusal counts under the name with port 53. */
export function blockedDestinations(refusals: readonly Refusal[]): BlockedDestination[] {
  const byKey = new Map<string, BlockedDestination>();
  for (const r of refusals) {
    const key = `${r.host}:${r.port}`;
    const seen = byKey.get(key);
    if (seen) seen.count += 1;
    else byKey.set(key, { host: r.host || '(no host)', port: r.port, count: 1, first: r.time });
  }
  return [...byKey.values()].sort((a, b) => b.count - a.count || a.first.localeCompare(b.first));
}

/** The one line a summary or check run shows; empty when nothing was refused. At most `limit` destinations. */
export function blockedLine(refusals: readonly Refusal[], limit = 10): string {
  return blockedText(blockedDestinations(refusals), limit);
}

/** What the job's record keeps: its `limit` most refused destinations and how many more there were. */
export function egressRefusals(
  runnerName: string,
  refusals: readonly Refusal[],
  at: number,
  limit = 20,
): EgressRefusals {
  const all = blockedDestinations(refusals);
  const seen: EgressRefusals = { runnerName, blocked: all.slice(0, limit), at };
  if (all.length > limit) seen.more = all.length - limit;
  return seen;
}

/** What stands in for each refused name a lane job asked for: the port and the count stay. */
export const NAME_WITHHELD = '(name withheld)';

/** Why the names are not there, said once beside the line (docs/security.md, "Secrets in job output"). */
export const NAMES_WITHHELD_NOTE =
  "a lane job's refused names are not kept: it may spell what the release gave it into them; see the job's check run on GitHub";

/**
 * What a runner's teardown does with its gateway's refusals: a log line, the metric, and the job's timeline.
 * `keepsNames` decides per runner whether the names themselves are kept (lanes/release.ts keepsRefusedNames); a
 * decision that fails withholds them.
 */
export function refusalReporter(
  log: Logger,
  observer: JobObserver,
  now: () => number = Date.now,
  keepsNames: (runner: string) => Promise<boolean> = async () => true,
) {
  return async (runner: string, all: readonly Refusal[]): Promise<void> => {
    const kept = await keepsNames(runner).catch(() => false);
    const refusals = kept ? all : all.map((r) => ({ ...r, host: NAME_WITHHELD }));
    log.warn(
      {
        runner,
        refusals: refusals.length,
        blocked: blockedLine(refusals),
        ...(kept ? {} : { note: NAMES_WITHHELD_NOTE }),
      },
      'egress refused connections',
    );
    observer.egressRefused?.(refusals[0]?.profile ?? '', refusals.length, egressRefusals(runner, refusals, now()));
  };
}
