// What a stand-in job runs first on a lane runner, as the lane action does (actions/lane-core/lane-release.ts): wait
// for the controller's release marker, then read the released env-file values. Busybox has no JSON tool; the values
// tests release are plain strings.
import { IN_CONTAINER } from '../../lane-contract/lane-variables.js';
import { RELEASE_MARKER, RELEASED_ENV } from '../../lane-contract/release-files.js';

export const MARKER_PATH = `${IN_CONTAINER.releaseDir}/${RELEASE_MARKER}`;
export const ENV_PATH = `${IN_CONTAINER.releaseDir}/${RELEASED_ENV}`;

/** Shell that waits up to `seconds` for the release, then sets each named variable from the released values. */
export function awaitReleaseShell(names: readonly string[] = [], seconds = 60): string {
  const reads = names.map((n) => `${n}=$(sed -n 's/.*"${n}":"\\([^"]*\\)".*/\\1/p' ${ENV_PATH}); `).join('');
  return `i=0; while [ ! -e ${MARKER_PATH} ] && [ $i -lt ${seconds * 5} ]; do sleep 0.2; i=$((i+1)); done; ${reads}`;
}
