// What the GitHub client tells whoever watches it (metrics, GitHub's health): a noun of its own, so the client and
// its watchers import neither each other.

/** ok: GitHub answered as asked. The rest: why it did not. */
export type GitHubState = 'ok' | 'unauthorised' | 'forbidden' | 'rate_limited' | 'unreachable';

export interface ApiObserver {
  /** Every HTTP exchange; status 0 when GitHub never answered. */
  onCall?(route: string, status: number): void;
  onRateLimitRemaining?(remaining: number): void;
  /** Each call of the API below, as the health of GitHub for that repo: ok, or why not. */
  onResult?(repo: string, state: GitHubState, error?: string): void;
}
