// A runner's end carried out for the controller: a spare runner's GitHub delete, and the cleanup itself
// (runner-teardown.ts's effects, then the credential write-back). Each returns what happened; the controller feeds it
// to its book, which frees the slot and gives an unrun claim back (runner-lifecycle.ts).
import type { Config } from '../config/config.js';
import type { Engine } from '../docker/docker-engine.js';
import type { DockerState } from '../docker/docker-watch.js';
import type { EgressGateways } from '../egress/egress-gateway.js';
import type { JobBrokers } from '../broker/job-brokers.js';
import type { JobDocker } from '../docker/job-docker.js';
import type { GitHubApi } from '../github/github-client.js';
import { scopeOf } from '../github/runner-scope.js';
import { returnCredentials } from '../lanes/credential-return.js';
import { keepsLogTail, LANE_TAIL_WITHHELD, releasedValues } from '../lanes/release.js';
import type { JobObserver } from '../model/job.js';
import type { RunnerIdentity } from '../model/runner.js';
import type { Logger } from '../observe/logger.js';
import { deleteRunner, tearDown } from './runner-teardown.js';

/** What a runner's launch and its cleanup both work with: the edges. */
export interface RunnerEdges {
  config: () => Config;
  github: GitHubApi;
  engine: Engine;
  jobDocker?: JobDocker | undefined;
  egress?: EgressGateways | undefined;
  brokers?: JobBrokers | undefined;
  docker: DockerState;
  log: Logger;
  observer?: JobObserver | undefined;
  now: () => number;
}

export interface RunnerCleanupDeps extends RunnerEdges {
  /** The lane assignment check: a cleanup waits for a release being written first. */
  assignments: { releaseWritten(runnerName: string): Promise<void> };
}

export type CleanupOutcome =
  | {
      kind: 'done';
      lastLines?: string[];
      /** Why a credential copy was not written back, for status. */ refused?: string;
    }
  | { kind: 'failed' };

export class RunnerCleanup {
  constructor(private readonly deps: RunnerCleanupDeps) {}

  /** Deletes a spare runner at GitHub; 'busy' when GitHub refuses (422) because it took a job meanwhile. */
  deleteSpare(identity: RunnerIdentity): Promise<'deleted' | 'gone' | 'busy' | 'error'> {
    const log = this.deps.log.child({ repo: identity.repo, jobId: identity.jobId, runner: identity.runnerName });
    return deleteRunner(this.deps.github, scopeOf(identity), identity.runnerId, log);
  }

  /** Keeps the container's last log lines, removes it, deletes its runner from GitHub, writes the credentials back. */
  async cleanup(
    runner: { identity: RunnerIdentity; containerId: string },
    reason: string,
    deleteRunner: boolean,
  ): Promise<CleanupOutcome> {
    const { repo, jobId, runnerName: name } = runner.identity;
    const log = this.deps.log.child({ repo, jobId, runner: name });
    // A release begun before the cleanup lands whole first (its values scrub the log tail, its manifest drives the
    // write-back); none begins after it, since the runner is no longer live.
    await this.deps.assignments.releaseWritten(name);
    const released = await releasedValues(this.deps.config(), name);
    const done = await tearDown(this.deps, runner, {
      reason,
      deleteRunner,
      log,
      // Released env-file values never were in the container's environment, so the engine cannot know them.
      secrets: released,
      ...((await keepsLogTail(this.deps.config(), name, released)) ? {} : { withheldTail: LANE_TAIL_WITHHELD }),
    });
    if (done.kind !== 'done') {
      // The reconciler retries once Docker answers.
      if (!this.deps.docker.report(done.err)) log.error({ err: String(done.err) }, 'container cleanup failed');
      return { kind: 'failed' };
    }
    // Only a released job has copies to write back: a refused one got none, so its folder holds no manifest.
    const refused = await returnCredentials(this.deps.config(), name, runner.identity.profileName, {
      log,
      ...(this.deps.observer ? { observer: this.deps.observer } : {}),
    });
    return { kind: 'done', ...(done.lastLines ? { lastLines: done.lastLines } : {}), ...(refused ? { refused } : {}) };
  }
}
