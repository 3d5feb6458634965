// The gate in front of a lane job's first step. GitHub hands a queued job to any idle runner whose labels cover it,
// so a lane runner may take a job that is not entitled to the lane (a bare `self-hosted` job, a fork's pull request);
// the controller learns which job it took only from the in_progress delivery, seconds after the job began. The
// runner's job-started hook (ACTIONS_RUNNER_HOOK_JOB_STARTED, run by the runner before any step of the job) holds the
// job until the release marker appears: a refused job is stopped while it waits, so none of its steps ever sees the
// lane's data mounts, MCP files or host network, not only its credentials.
import { RELEASE_MARKER } from '../../lane-contract/release-files.js';
import { IN_CONTAINER } from '../../lane-contract/lane-variables.js';

export const HOOKS_IN_CONTAINER = '/factory/hooks';
export const JOB_STARTED_HOOK = 'job-started.sh';
/** The runner's own variable (docs.github.com: running scripts before or after a job). */
export const RUNNER_HOOK_VARIABLE = 'ACTIONS_RUNNER_HOOK_JOB_STARTED';
/** A profile's own job-started hook, run by the gate once the release is there. */
export const NEXT_HOOK_VARIABLE = 'FACTORY_NEXT_JOB_STARTED_HOOK';
/** Longer than the controller's run lookup (about 60 s of retries, then a refusal stops the container). */
export const HOOK_WAIT_SECONDS = 300;
/**
 * In the release folder while a verified job waits for its login, which another job or a `factory lane run` holds:
 * the gate's wait does not run out meanwhile (the controller, not the job, writes the release folder).
 */
export const CREDENTIAL_WAIT_FILE = 'credential-wait';

/**
 * POSIX sh, so it runs in any lane image. The marker's path is written into the script, not read from a variable: the
 * job's own settings must not be able to point the gate at a file of their choosing.
 *
 * The gate is terminal. A failed hook only fails its step: the runner goes on to evaluate every later step's `if:`,
 * and `always()`, `failure()` and `cancelled()` steps run, with the lane's network and whatever else is in reach.
 * When the job is cancelled the runner signals the hook (SIGINT, then SIGTERM) and again runs the steps whose
 * condition holds. So when no release comes, or a signal arrives first, the gate ends the runner itself: it kills
 * every process its user may signal in the container's own PID namespace (all but the namespace's init and itself).
 * The runner's processes gone, no later step runs; the container ends with them, and GitHub fails the job when the
 * runner stops renewing it.
 */
export function jobStartedHookScript(opts: { releaseDir?: string; waitSeconds?: number } = {}): string {
  const marker = `${opts.releaseDir ?? IN_CONTAINER.releaseDir}/${RELEASE_MARKER}`;
  const credentialWait = `${opts.releaseDir ?? IN_CONTAINER.releaseDir}/${CREDENTIAL_WAIT_FILE}`;
  const wait = opts.waitSeconds ?? HOOK_WAIT_SECONDS;
  return `#!/bin/sh
# factory: this lane job starts once the controller has verified that GitHub gave this runner a job entitled to it.
end_job() {
  trap '' INT TERM HUP
  echo "::error::factory: $1; the runner is stopped so that no later step of this job runs, whatever its if:"
  kill -9 -1 2>/dev/null
  exit 1
}
trap 'end_job "this lane job was cancelled before the lane was released to it"' INT TERM HUP
waited=0
held=0
while [ ! -f '${marker}' ]; do
  if [ -f '${credentialWait}' ]; then
    # Verified, and waiting for the login another job holds: as long as that job runs.
    if [ "$held" -eq 0 ]; then echo "factory: this job waits for its lane's login: $(cat '${credentialWait}')"; fi
    held=$((held + 1))
  elif [ "$waited" -ge ${wait} ]; then
    end_job "the lane was not released to this job within ${wait} s: the controller verifies each lane job (same repository, a lane label, not a fork or pull_request_target run) when GitHub reports it in progress; see the controller's log for this runner"
  else
    waited=$((waited + 1))
  fi
  sleep 1
done
trap - INT TERM HUP
echo "factory: lane released to this job after $((waited + held)) s"
if [ -n "\${${NEXT_HOOK_VARIABLE}:-}" ]; then exec "\$${NEXT_HOOK_VARIABLE}"; fi
`;
}
