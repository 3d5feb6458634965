// A launch carried out: the plan is built whole first, then its effects run in order (the job folder's sources
// checked, the JIT registration while the folder is made, the container) and the outcome is returned; the controller
// does the bookkeeping. Each step that fails undoes the ones
// before it, except when Docker goes away mid-start: then the container may be running the job, and the reconciler
// settles it once Docker answers.
import { startFailure } from '../docker/start-failure.js';
import type { Config } from '../config/config.js';
import { isDockerDown, type Engine } from '../docker/docker-engine.js';
import { GitHubError, type GitHubApi } from '../github/github-client.js';
import { forgetRunnerGroup, RunnerGroupError, runnerGroupId } from '../github/runner-groups.js';
import { runnersAt, scopeOf } from '../github/runner-scope.js';
import { checkJobFolderSources, finishJobFolder, prepareJobFolder, rewriteMcpFiles } from '../lanes/job-folder.js';
import { prepareWorkspaces } from '../lanes/job-workspace.js';
import { cacheScope } from '../lanes/lane-layout.js';
import type { PendingJob } from '../model/job.js';
import type { RunnerIdentity } from '../model/runner.js';
import type { LaunchPlan } from './launch-plan.js';
import { withRegisteredRunner } from './runner-spec.js';
import type { JobDocker } from '../docker/job-docker.js';
import type { EgressGateways } from '../egress/egress-gateway.js';
import { brokerUrl, relayedValue, withBrokerRelay, withEgress, type EgressLease } from '../egress/egress-plan.js';
import { brokerFallback, type JobBrokers } from '../broker/job-brokers.js';
import { errorMessage } from '../util/error-message.js';

export type LaunchOutcome =
  | { kind: 'started'; containerId: string }
  /** Nothing is left: no folder, no runner, no container. `retry`: the job may be offered again (GitHub failed). */
  | { kind: 'failed'; failure: string; retry: boolean }
  | { kind: 'docker-down'; err: unknown };

export interface LaunchSteps {
  config: Config;
  github: GitHubApi;
  engine: Engine;
  /** Starts and removes a job's own Docker engine; needed only by profiles with `docker` (docs/job-docker.md). */
  jobDocker?: JobDocker;
  /** Starts a job's egress gateway; needed only by profiles with `egress` (docs/lanes.md#egress). */
  egress?: EgressGateways | undefined;
  /** A brokered job's model broker (docs/security.md "The model broker"); without it, logins are copied. */
  brokers?: JobBrokers | undefined;
  /** Told as each step lands, so the timeline and the runner record follow the launch. */
  registered(runnerId: number): void;
}

export async function carryOut(steps: LaunchSteps, plan: LaunchPlan, job: PendingJob): Promise<LaunchOutcome> {
  try {
    const outcome = await launch(steps, plan, job);
    // A launch that failed leaves no broker; one Docker left unsure of is the reconciler's, with its container.
    if (outcome.kind === 'failed') await steps.brokers?.close(plan.identity.runnerName);
    return outcome;
  } finally {
    if (plan.egress) steps.egress?.launched?.(plan.identity.runnerName);
  }
}

async function launch(steps: LaunchSteps, plan: LaunchPlan, job: PendingJob): Promise<LaunchOutcome> {
  const { config } = steps;
  const { profileName, profile, runnerName } = plan.jobFolder;
  const brokers = job.profile.auth === 'broker' && !brokerFallback(job.profile) ? steps.brokers : undefined;
  // Lane files' sources first: a missing credential fails the job before GitHub holds a runner for it. The folder
  // holds nothing secret and the login is not taken here: a runner that waits for its job, warm or cold, holds none of
  // it; the release takes it on a verified assignment (lane-assignments.ts).
  try {
    await checkJobFolderSources(profileName, profile);
  } catch (err) {
    return failed(errorMessage(err), false);
  }
  // The folders themselves are made while the launch goes on, GitHub's registration included (a cold pickup waits
  // for that call): nothing reads them before the runner is registered, and the launch waits for them there.
  const folders = (async () => {
    await prepareJobFolder(config, profileName, profile, runnerName, { brokered: brokers !== undefined });
    await prepareWorkspaces(config, profile, cacheScope(plan.identity), profileName, runnerName);
  })().then(
    () => undefined,
    (err: unknown) => errorMessage(err),
  );
  const outcome = await startRunner(steps, plan, job, folders, brokers);
  await folders;
  // A launch that failed leaves no folder; one Docker left unsure of is the reconciler's, with its container.
  if (outcome.kind === 'failed') await finishJobFolder(config, runnerName).catch(() => {});
  return outcome;
}

/** The launch past its folders' check; `folders` settles with their failure, if any, once they are made. */
async function startRunner(
  steps: LaunchSteps,
  plan: LaunchPlan,
  job: PendingJob,
  folders: Promise<string | undefined>,
  brokers: JobBrokers | undefined,
): Promise<LaunchOutcome> {
  const { config, github, engine } = steps;
  const { identity } = plan;
  // A brokered job's broker before its network: the gateway relays its broker port to it, the job's files name it.
  let container = plan.container;
  let egressPlan = plan.egress;
  if (brokers) {
    try {
      const { port } = await brokers.start(job.profile, identity.runnerName);
      if (egressPlan) egressPlan = withBrokerRelay(egressPlan, port);
    } catch (err) {
      return failed(`model broker: ${errorMessage(err)}`, false);
    }
  }
  // The job's one way out, made while its sidecar starts and GitHub registers its runner (a gateway takes about a
  // second to serve when no spare is ready): the job's container starts only once it serves, so no process of the
  // job ever has another network.
  let leased: Promise<{ lease: EgressLease } | { err: unknown }> | undefined;
  if (egressPlan) {
    if (!steps.egress)
      return failed(`profile ${job.profileName} asks for egress, which this backend cannot run`, false);
    leased = steps.egress.create(egressPlan).then(
      (lease) => ({ lease }),
      (err: unknown) => ({ err }),
    );
  }
  const dropEgress = async () => {
    if (!leased) return;
    await leased;
    await steps.egress?.remove(identity.runnerName).catch(() => {});
  };
  // The job's engine before its runner: a sidecar that cannot start fails the job before GitHub holds a runner.
  const sidecar = plan.sidecar;
  if (sidecar) {
    try {
      if (!steps.jobDocker)
        throw new Error(`profile ${job.profileName} asks for docker, which this backend cannot run`);
      await steps.jobDocker.start(sidecar);
    } catch (err) {
      if (isDockerDown(err)) return { kind: 'docker-down', err };
      await dropEgress();
      return failed(errorMessage(err), false);
    }
  }
  const dropSidecar = () => (sidecar ? steps.jobDocker?.remove(sidecar.runnerName).catch(() => {}) : undefined);

  const runners = runnersAt(github, scopeOf(identity));
  let jit;
  try {
    const group = job.profile.runnerGroup;
    const jitBody =
      identity.org && group
        ? {
            ...plan.jit,
            runner_group_id: await runnerGroupId(github, {
              org: identity.org,
              group,
              repo: identity.repo,
              path: `profiles.${job.profileName}.runnerGroup`,
              trusted: job.profile.trusted,
            }),
          }
        : plan.jit;
    jit = await runners.register(jitBody);
  } catch (err) {
    await dropSidecar();
    await dropEgress();
    // A group the repo cannot use stays so until the admin acts: failed for good, with the config path to fix.
    if (err instanceof RunnerGroupError) return failed(err.message, false);
    if (identity.org && job.profile.runnerGroup && err instanceof GitHubError && err.status === 404)
      forgetRunnerGroup(github, identity.org, job.profile.runnerGroup);
    // Not failed for good: the next queued-jobs poll offers the job again.
    return failed(err instanceof GitHubError ? err.message : `JIT config failed: ${String(err)}`, true);
  }
  identity.runnerId = jit.runnerId;
  steps.registered(jit.runnerId);
  const folderFailure = await folders;
  if (folderFailure !== undefined) {
    await runners.remove(jit.runnerId).catch(() => 'error');
    await dropSidecar();
    await dropEgress();
    return failed(folderFailure, false);
  }

  const egress = await leased;
  if (egress && 'err' in egress) {
    if (isDockerDown(egress.err)) return { kind: 'docker-down', err: egress.err };
    await runners.remove(jit.runnerId).catch(() => 'error');
    await dropSidecar();
    await dropEgress();
    return failed(errorMessage(egress.err), false);
  }
  if (egress) {
    const lease = egress.lease;
    container = withEgress(container, lease);
    if (job.profile.mcp.length > 0)
      await rewriteMcpFiles(config, identity.runnerName, (text) => relayedValue(text, lease)).catch(() => {});
  }
  try {
    if (brokers) {
      const url = egress ? brokerUrl(egress.lease) : undefined;
      container = brokers.withBroker(container, identity.runnerName, job.profile, url);
      await brokers.grant(identity.runnerName, url);
    }
  } catch (err) {
    await runners.remove(jit.runnerId).catch(() => 'error');
    await dropSidecar();
    await dropEgress();
    return failed(`model broker: ${errorMessage(err)}`, false);
  }

  try {
    return {
      kind: 'started',
      containerId: await engine.run(withRegisteredRunner(container, jit.runnerId, jit.encodedJitConfig)),
    };
  } catch (err) {
    if (isDockerDown(err)) return { kind: 'docker-down', err };
    await runners.remove(jit.runnerId).catch(() => 'error');
    await dropSidecar();
    await dropEgress();
    return failed(startFailure(err, job.profile, job.profileName), false);
  }
}

function failed(failure: string, retry: boolean): LaunchOutcome {
  return { kind: 'failed', failure, retry };
}
