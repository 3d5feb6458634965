// What the operator's endpoints (/metrics, /status, /jobs/ID) and the public /healthz read, gathered from the
// running parts at the moment of each request.
import type { Config } from '../config/config.js';
import type { GitHubHealth } from '../github/github-health.js';
import type { Housekeeper } from '../housekeeping/housekeeper.js';
import type { Metrics } from '../observe/metrics.js';
import type { TimelineStore } from '../observe/timeline-store.js';
import type { JobDetails } from '../status/job-details.js';
import type { StatusSources } from '../status/status-server.js';
import { statusSnapshot } from '../status/status-snapshot.js';
import type { ControllerSnapshot } from './controller.js';

export interface RunningParts {
  config: () => Config;
  controller: { snapshot(): ControllerSnapshot };
  metrics: Metrics;
  timeline: TimelineStore;
  health: GitHubHealth;
  housekeeper: Housekeeper;
  details: JobDetails;
}

/** GitHub's health for every configured entry; org entries report under the org's name (their calls are the org's). */
export const githubHealth = (p: Pick<RunningParts, 'config' | 'health'>) => {
  const config = p.config();
  return p.health.snapshot([...config.repos.map((r) => r.repo), ...config.orgs.map((o) => o.name)]);
};

export function statusSources(p: RunningParts): StatusSources {
  return {
    metrics: async () => ({ contentType: p.metrics.contentType, text: await p.metrics.text() }),
    status: () => {
      const s = p.controller.snapshot();
      return statusSnapshot({
        config: p.config(),
        runners: s.runners,
        queued: s.queued,
        pools: s.pools,
        timelines: p.timeline.recent(),
        dockerUp: s.dockerUp,
        lastError: s.lastError,
        github: githubHealth(p),
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
  };
}

/** /healthz: GitHub's state, not its error text, since this port faces the internet. */
export function publicHealth(p: Pick<RunningParts, 'config' | 'health' | 'controller'>) {
  const s = p.controller.snapshot();
  return { dockerUp: s.dockerUp, github: githubHealth(p).state, queued: s.queued.length, running: s.runners.length };
}
