// A warm pool as status and metrics show it: read off the daemon's pools, shown by the status page and /metrics.
export interface PoolView {
  repo: string;
  profile: string;
  /** Its size now (min, or 0 outside its schedule). */
  target: number;
  idle: number;
  /** Warm runners still registering or starting. */
  starting: number;
  /** Live runners of the repo and profile, warm and cold. */
  live: number;
}
