// What the operator's endpoints (/metrics, /status, /jobs/ID) and the public /healthz read, gathered from the
// running parts at the moment of each request.
import type { Config } from '../config/config.js';
import type { GitHubHealth, GitHubHealthSnapshot } from '../github/github-health.js';
import type { Housekeeper } from '../housekeeping/housekeeper.js';
import type { Metrics } from '../observe/metrics.js';
import type { TimelineStore } from '../observe/timeline-store.js';
import type { JobDetails } from '../status/job-details.js';
import type { StatusSources } from '../status/status-server.js';
import { statusSnapshot, type ScaleSetRow } from '../status/status-snapshot.js';
import type { ControllerSnapshot } from './controller.js';
import { HEALTH_PATHS, healthAnswer } from './health-answer.js';

export interface RunningParts {
  config: () => Config;
  controller: { snapshot(): ControllerSnapshot };
  metrics: Metrics;
  timeline: TimelineStore;
  health: GitHubHealth;
  housekeeper: Housekeeper;
  details: JobDetails;
  /** The scale sets' listeners, with `intake: scaleset`. */
  scaleSets?: () => ScaleSetRow[];
}

/** GitHub's health for every configured entry; org entries report under the org's name (their calls are the org's). */
export const githubHealth = (p: Pick<RunningParts, 'config' | 'health'>) => {
  const config = p.config();
  return p.health.snapshot([...config.repos.map((r) => r.repo), ...config.orgs.map((o) => o.name)]);
};

/**
 * The newest failure the operator should see first: the controller's own (a refused lane job, a failed launch,
 * Docker gone) or GitHub's last failure for any configured entry, kept after it recovers like the per-repo rows.
 */
export function lastError(
  own: Pick<ControllerSnapshot, 'lastError' | 'lastErrorAt'>,
  github: GitHubHealthSnapshot,
): { message: string; at: number } | undefined {
  const found = [
    ...(own.lastError !== undefined ? [{ message: own.lastError, at: own.lastErrorAt ?? 0 }] : []),
    ...github.repos.flatMap((r) =>
      r.lastError !== undefined ? [{ message: r.lastError, at: r.lastErrorAt ?? 0 }] : [],
    ),
  ];
  return found.reduce<{ message: string; at: number } | undefined>(
    (newest, e) => (newest && newest.at >= e.at ? newest : e),
    undefined,
  );
}

export function statusSources(p: RunningParts): StatusSources {
  return {
    metrics: async () => ({ contentType: p.metrics.contentType, text: await p.metrics.text() }),
    status: () => {
      const s = p.controller.snapshot();
      const github = githubHealth(p);
      const error = lastError(s, github);
      return statusSnapshot({
        config: p.config(),
        runners: s.runners,
        queued: s.queued,
        pools: s.pools,
        ...(p.scaleSets ? { scaleSets: p.scaleSets() } : {}),
        timelines: p.timeline.recent(),
        dockerUp: s.dockerUp,
        ...(error ? { lastError: error.message, lastErrorAt: error.at } : {}),
        github,
        disk: p.housekeeper.lastDisk,
        details: (ids) => p.details.of(ids),
        housekeeping: {
          ...(p.housekeeper.last ? { last: p.housekeeper.last } : {}),
          ...(p.housekeeper.nextAt ? { nextAt: p.housekeeper.nextAt } : {}),
        },
        now: Date.now(),
      });
    },
    job: (id) => p.timeline.get(id),
    health: (path) =>
      (HEALTH_PATHS as readonly string[]).includes(path) ? healthAnswer(path, publicHealth(p)) : undefined,
  };
}

/** /healthz: GitHub's state, not its error text, since this port faces the internet. */
export function publicHealth(p: Pick<RunningParts, 'config' | 'health' | 'controller'>) {
  const s = p.controller.snapshot();
  return { dockerUp: s.dockerUp, github: githubHealth(p).state, queued: s.queued.length, running: s.runners.length };
}
