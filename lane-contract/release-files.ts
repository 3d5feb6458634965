// What a release puts into the release folder (FACTORY_RELEASE_DIR): the lane's credentials are absent from a lane
// container until GitHub's assignment names a job that is entitled to the lane (docs/security.md). The controller
// writes the values file first and the marker last, each atomically, so a reader that sees the marker sees it all.

/** The marker: written last; its presence means the auth copies, secrets and env values are all in place. */
export const RELEASE_MARKER = 'released.json';
/** The profile's env-file values as one JSON object of strings, readable by the container user only. */
export const RELEASED_ENV = 'env.json';

export interface ReleaseMarker {
  repo: string;
  jobId: number;
  runId: number;
  /** ISO time of the release. */
  releasedAt: string;
}

/** The values file parsed, or a message naming what is wrong with it. */
export function parseReleasedEnv(text: string): Record<string, string> | { error: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { error: `${RELEASED_ENV} is not JSON` };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    return { error: `${RELEASED_ENV} is not a JSON object` };
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(parsed)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) || typeof v !== 'string')
      return { error: `${RELEASED_ENV}: entry ${JSON.stringify(k).slice(0, 40)} is not NAME: "string"` };
    out[k] = v;
  }
  return out;
}
