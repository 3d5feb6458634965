#!/bin/sh
# Stand-in for the official runner image's /home/runner/run.sh: it reads the JIT config from the environment,
# comes online, waits for the stand-in GitHub to assign a job, "runs" it, and exits like a runner that finished
# its one job. It talks only to the URL in the JIT config (the loopback stand-in).
set -eu
# The official run.sh runs the runner's processes under it (run-helper.sh, Runner.Listener, Runner.Worker) and ends
# with them: this script runs its own copy as that runner process, so a hook that ends the runner ends the job here
# as it does there, whether or not an init is PID 1.
if [ -z "${STANDIN_RUNNER_PROCESS:-}" ]; then
  code=0
  STANDIN_RUNNER_PROCESS=1 sh "$0" || code=$?
  exit "$code"
fi
if [ -z "${ACTIONS_RUNNER_INPUT_JITCONFIG:-}" ]; then
  echo "ACTIONS_RUNNER_INPUT_JITCONFIG is not set" >&2
  exit 2
fi
url=$(echo "$ACTIONS_RUNNER_INPUT_JITCONFIG" | base64 -d | sed -n 's/.*"url":"\([^"]*\)".*/\1/p')
if [ -z "$url" ]; then
  echo "JIT config has no stand-in URL" >&2
  exit 2
fi
echo "Connected to GitHub (stand-in) as $(id -u):$(id -g)"
echo "Listening for Jobs"
while :; do
  answer=$(timeout 10 wget -q -O - --post-data '' "$url/run" 2>/dev/null || true)
  job=$(echo "$answer" | sed -n 's/.*"job":\([0-9][0-9]*\).*/\1/p')
  [ -n "$job" ] && break
  sleep 0.5
done
seconds=$(echo "$answer" | sed -n 's/.*"seconds":\([0-9.]*\).*/\1/p')
echo "Running job: $job"

# The official runner's step loop, as actions/runner runs it:
# - JobExtension.InitializeJob puts the ACTIONS_RUNNER_HOOK_JOB_STARTED hook first among the job's steps, as a step
#   whose condition is success(); nothing else sets it apart.
# - StepsRunner.RunAsync merges each failed step's result into the job's, and evaluates every later step's `if:`
#   against it: success() (the default) is skipped, failure() and always() run. On the job's cancellation it marks
#   the job Canceled, cancels the running step, and evaluates the rest the same way (always() and cancelled() run).
# - ProcessInvoker.CancelAndKillProcessTree cancels a step by SIGINT to its process, then SIGTERM 7.5 s later, then
#   kills its tree 2.5 s after that.
# Tests give the job's steps through the profile's env: STANDIN_JOB_COMMAND (if: success()), STANDIN_FAILURE_COMMAND
# (if: failure()) and STANDIN_ALWAYS_COMMAND (if: always()), run in that order.
status=success
state=$(mktemp -d)

# Runs one step under cancellation: its pid is noted before it starts, and a watcher polls GitHub (the stand-in) for
# the job's cancellation and signals the step as the runner does. The step itself runs in the foreground, so it keeps
# the default handling of SIGINT a background job of a non-interactive shell would lose.
run_step() {
  rm -f "$state/pid" "$state/cancelled"
  (
    while [ ! -f "$state/pid" ]; do sleep 0.1; done
    pid=$(cat "$state/pid")
    while kill -0 "$pid" 2>/dev/null; do
      if timeout 5 wget -q -O - --post-data '' "$url/cancelled" 2>/dev/null | grep -q '"cancelled":true'; then
        touch "$state/cancelled"
        kill -INT "$pid" 2>/dev/null || exit 0
        sleep 7.5
        kill -TERM "$pid" 2>/dev/null || exit 0
        sleep 2.5
        kill -KILL "$pid" 2>/dev/null || exit 0
        exit 0
      fi
      sleep 0.5
    done
  ) &
  watcher=$!
  code=0
  sh -c 'echo $$ > "$1/pid"; shift; exec "$@"' step "$state" "$@" || code=$?
  kill "$watcher" 2>/dev/null || true
  wait "$watcher" 2>/dev/null || true
  if [ -f "$state/cancelled" ]; then
    status=cancelled
  elif [ "$code" -ne 0 ] && [ "$status" = success ]; then
    status=failure
  fi
  return 0
}

# A step's `if:` against the job's status so far, for the four status functions.
should_run() {
  case "$1:$status" in
    always:*) return 0 ;;
    success:success | failure:failure | cancelled:cancelled) return 0 ;;
    *) return 1 ;;
  esac
}

if [ -n "${ACTIONS_RUNNER_HOOK_JOB_STARTED:-}" ]; then
  run_step sh "$ACTIONS_RUNNER_HOOK_JOB_STARTED"
  [ "$status" = success ] || echo "##[error]The job started hook failed"
fi
if should_run success; then
  if [ -n "${STANDIN_JOB_COMMAND:-}" ]; then
    run_step sh -c "$STANDIN_JOB_COMMAND"
  fi
  [ "$status" = success ] && sleep "${seconds:-1}"
fi
if [ -n "${STANDIN_FAILURE_COMMAND:-}" ] && should_run failure; then run_step sh -c "$STANDIN_FAILURE_COMMAND"; fi
if [ -n "${STANDIN_ALWAYS_COMMAND:-}" ] && should_run always; then run_step sh -c "$STANDIN_ALWAYS_COMMAND"; fi
rm -rf "$state"

case "$status" in
  success) result=Succeeded body='' ;;
  failure) result=Failed body='{"exitCode":1,"outputs":{}}' ;;
  *) result=Canceled body='{"exitCode":1,"outputs":{}}' ;;
esac
timeout 10 wget -q -O - --header 'content-type: application/json' --post-data "$body" "$url/done" >/dev/null 2>&1 || true
echo "Job $job completed with result: $result"
