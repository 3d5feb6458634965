// A runner's end carried out: its container's last log lines kept, the container removed, its GitHub registration
// deleted unless GitHub already dropped it. The controller does the bookkeeping with what this returns.
import type { Engine } from '../docker/docker-engine.js';
import { isDockerDown } from '../docker/docker-engine.js';
import type { GitHubApi } from '../github/github-client.js';
import { runnersAt, scopeOf, type RunnerScope } from '../github/runner-scope.js';
import type { RunnerIdentity } from '../model/runner.js';
import type { Logger } from '../observe/logger.js';
import { redactLine } from '../observe/redact.js';
import { scrubSecrets } from '../observe/secret-values.js';
import type { JobDocker } from '../docker/job-docker.js';

const LOG_TAIL_LINES = 20;

export type TeardownOutcome = { kind: 'done'; lastLines?: string[] } | { kind: 'docker-down' | 'error'; err: unknown };

export async function tearDown(
  deps: { engine: Engine; github: GitHubApi; jobDocker?: JobDocker | undefined },
  runner: { identity: RunnerIdentity; containerId?: string },
  opts: {
    reason: string;
    deleteRunner: boolean;
    log: Logger;
    secrets?: readonly string[];
    /** Unset or a note: a lane runner's tail is never read, the note stands in for it (lanes/release.ts). */
    withheldTail?: string;
  },
): Promise<TeardownOutcome> {
  const { log } = opts;
  let lastLines: string[] | undefined;
  try {
    if (runner.containerId) {
      lastLines = opts.withheldTail
        ? [opts.withheldTail]
        : scrubSecrets(await deps.engine.tailLogs(runner.containerId, LOG_TAIL_LINES), opts.secrets ?? [])
            .trimEnd()
            .split('\n')
            .slice(-LOG_TAIL_LINES)
            .map(redactLine);
      log.info({ reason: opts.reason, lastLines }, 'runner container finished');
      await deps.engine.remove(runner.containerId);
    }
    // After the job's container, which holds the sidecar's network namespace and socket volume.
    await deps.jobDocker?.remove(runner.identity.runnerName);
  } catch (err) {
    return { kind: isDockerDown(err) ? 'docker-down' : 'error', err };
  }
  const { runnerId } = runner.identity;
  if (opts.deleteRunner && runnerId) {
    try {
      await runnersAt(deps.github, scopeOf(runner.identity)).remove(runnerId);
    } catch (err) {
      // Left for the reconciler: it deletes factory runners that are offline and have no container.
      log.warn(
        { runnerId, err: String((err as Error).message ?? err) },
        'runner delete failed; the reconciler will retry',
      );
    }
  }
  return { kind: 'done', ...(lastLines ? { lastLines } : {}) };
}

/** Deletes a runner from GitHub; a failure is left for the reconciler, which deletes offline runners of ours. */
export async function deleteRunner(
  github: GitHubApi,
  scope: RunnerScope,
  runnerId: number,
  log: Logger,
): Promise<'deleted' | 'gone' | 'busy' | 'error'> {
  try {
    return await runnersAt(github, scope).remove(runnerId);
  } catch (err) {
    // Left for the reconciler: it deletes factory runners that are offline and have no container.
    log.warn(
      { runnerId, err: String((err as Error).message ?? err) },
      'runner delete failed; the reconciler will retry',
    );
    return 'error';
  }
}
