// A lane's credentials are released by the controller only after it has checked that GitHub gave this runner a job
// entitled to the lane (docs/security.md). The action waits, bounded, for that release before the agent starts, then
// takes the released env-file values: they were never in the job's environment.
import { join } from 'node:path';
import { readJobFile } from '../../lane-contract/job-file.js';
import { LANE_VARIABLES } from '../../lane-contract/lane-variables.js';
import { parseReleasedEnv, RELEASE_MARKER, RELEASED_ENV } from '../../lane-contract/release-files.js';

export const DEFAULT_RELEASE_TIMEOUT_SECONDS = 120;
const MAX_RELEASE_TIMEOUT_SECONDS = 3600;

/** The `release-timeout-seconds` input: empty for the default, else whole seconds from 1 to an hour. */
export function parseReleaseTimeout(raw: string | undefined): number {
  const text = (raw ?? '').trim();
  if (!text) return DEFAULT_RELEASE_TIMEOUT_SECONDS;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > MAX_RELEASE_TIMEOUT_SECONDS)
    throw new Error(
      `input "release-timeout-seconds": expected whole seconds from 1 to ${MAX_RELEASE_TIMEOUT_SECONDS}, got ${JSON.stringify(text)}`,
    );
  return n;
}

export interface ReleaseWaitDeps {
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  log: (line: string) => void;
}

const POLL_MS = 250;

/**
 * Waits for the release marker of a lane whose controller releases on assignment (FACTORY_RELEASE_DIR set) and
 * returns the released env-file values; a job outside such a lane (no FACTORY_RELEASE_DIR) has nothing to wait for.
 */
export async function awaitLaneRelease(
  env: Record<string, string | undefined>,
  timeoutSeconds: number,
  deps: ReleaseWaitDeps,
): Promise<Record<string, string>> {
  const dir = env[LANE_VARIABLES.releaseDir]?.trim();
  if (!dir) return {};
  const marker = join(dir, RELEASE_MARKER);
  const deadline = deps.now() + timeoutSeconds * 1000;
  let said = false;
  for (;;) {
    const found = await readJobFile(marker);
    if (found.kind === 'text') break;
    if (found.kind === 'unsafe')
      throw new Error(`the lane's release marker is not a file the action can trust: ${found.reason}`);
    if (deps.now() >= deadline)
      throw new Error(
        `waited ${timeoutSeconds}s for the controller to release this lane's credentials (${marker}) and it did not. ` +
          `Likely causes: this job is not entitled to the lane (its runs-on lacks the lane's own label, or the run comes ` +
          `from a fork or pull_request_target), and the controller stopped this runner (its log says "not entitled"); ` +
          `the controller cannot reach GitHub to look the workflow run up; or the controller is down. ` +
          `If the controller is only slow, raise input "release-timeout-seconds".`,
      );
    if (!said) deps.log(`waiting up to ${timeoutSeconds}s for the controller to release the lane's credentials`);
    said = true;
    await deps.sleep(POLL_MS);
  }
  const file = await readJobFile(join(dir, RELEASED_ENV));
  if (file.kind === 'missing') return {};
  if (file.kind === 'unsafe') throw new Error(`the lane's released values: ${file.reason}`);
  const values = parseReleasedEnv(file.text);
  if ('error' in values) throw new Error(`the lane's released values: ${values.error}`);
  return values;
}

/**
 * The job's environment with the released values added, each masked before anything can print it: what both actions
 * hand the lane (its secrets list, the agent's environment) instead of process.env.
 */
export async function releasedEnvironment(
  env: Record<string, string | undefined>,
  timeoutSeconds: number,
  core: { info: (line: string) => void; setSecret: (value: string) => void },
): Promise<Record<string, string | undefined>> {
  const released = await awaitLaneRelease(env, timeoutSeconds, {
    now: Date.now,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    log: core.info,
  });
  for (const value of Object.values(released)) if (value) core.setSecret(value);
  if (env[LANE_VARIABLES.releaseDir]) core.info(`lane credentials released (${Object.keys(released).length} values)`);
  return { ...env, ...released };
}
