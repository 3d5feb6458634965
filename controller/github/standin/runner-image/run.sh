#!/bin/sh
# Stand-in for the official runner image's /home/runner/run.sh: it reads the JIT config from the environment,
# comes online, waits for the stand-in GitHub to assign a job, "runs" it, and exits like a runner that finished
# its one job. It talks only to the URL in the JIT config (the loopback stand-in).
set -eu
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
# The runner's job-started hook runs before any step, and a failing hook fails the job with no step run.
if [ -n "${ACTIONS_RUNNER_HOOK_JOB_STARTED:-}" ] && ! sh "$ACTIONS_RUNNER_HOOK_JOB_STARTED"; then
  echo "##[error]The job started hook failed"
  timeout 10 wget -q -O - --header 'content-type: application/json' --post-data '{"exitCode":1,"outputs":{}}' "$url/done" >/dev/null 2>&1 || true
  echo "Job $job completed with result: Failed"
  exit 0
fi
# The job's steps: tests pass a shell command through the profile's env, as a workflow passes run: steps.
if [ -n "${STANDIN_JOB_COMMAND:-}" ]; then
  sh -c "$STANDIN_JOB_COMMAND" || echo "job command exited with $?"
fi
sleep "${seconds:-1}"
timeout 10 wget -q -O - --post-data '' "$url/done" >/dev/null 2>&1 || true
echo "Job $job completed with result: Succeeded"
