// A launch carried out for the controller: the plan built whole (launch-plan.ts) and carried out (launcher.ts), and
// the answer returned for the controller to feed to its book: a started container, a failure, or Docker gone
// mid-start (the reconciler settles that runner).
import { readEnvFiles } from '../lanes/env-file.js';
import type { PendingJob } from '../model/job.js';
import { isWarm, type RunnerIdentity } from '../model/runner.js';
import { planLaunch } from './launch-plan.js';
import { carryOut } from './launcher.js';
import type { RunnerEdges } from './runner-cleanup.js';
import type { LaunchAnswer } from './runner-lifecycle.js';

export class RunnerLaunch {
  constructor(private readonly deps: RunnerEdges) {}

  /** `identity` is the runner already in the book (runnerIdentity, with `random` its name's suffix). */
  async launch(item: PendingJob, identity: RunnerIdentity, random: string): Promise<LaunchAnswer> {
    const config = this.deps.config();
    const { observer } = this.deps;
    const warm = isWarm(identity);
    const log = this.deps.log.child({ repo: item.repo, jobId: item.jobId, runner: identity.runnerName });
    let plan;
    try {
      plan = planLaunch(config, item, Object.keys(await readEnvFiles(item.profile.envFiles)), random);
    } catch (err) {
      return { kind: 'failed', failure: (err as Error).message, retry: false, at: this.deps.now() };
    }
    plan.identity = identity;
    const outcome = await carryOut(
      {
        ...this.deps,
        config,
        registered: (runnerId) => {
          if (warm) return log.info({ runnerId }, 'warm runner registered (JIT)');
          observer?.stage(item.jobId, 'runner-created', {
            repo: item.repo,
            profile: item.profileName,
            runnerName: identity.runnerName,
            at: this.deps.now(),
          });
          log.info({ runnerId }, 'runner registered (JIT)');
        },
      },
      plan,
      item,
    );
    if (outcome.kind === 'failed') return { ...outcome, at: this.deps.now() };
    // The container may well be running the job: runner, folder and job are left to the reconciler.
    if (outcome.kind === 'docker-down') return outcome;
    return { kind: 'container', containerId: outcome.containerId, at: this.deps.now(), exitedEarly: false };
  }
}
