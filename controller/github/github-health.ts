// GitHub's health as the controller sees it, per repo: fed by the client's ApiObserver.onResult with every call's
// outcome, read by /healthz, /status, `factory status` and the metrics. Unknown until GitHub has answered once.
import type { ApiObserver, GitHubState } from '../model/api-observer.js';

export type HealthState = GitHubState | 'unknown';

export interface RepoHealth {
  repo: string;
  state: HealthState;
  /** When the state last changed, and when a call last reported it (ms). */
  since?: number;
  checkedAt?: number;
  /** The last failure, kept after recovery so an operator sees what happened. */
  lastError?: string;
  lastErrorAt?: number;
}

export interface GitHubHealthSnapshot {
  state: HealthState;
  repos: RepoHealth[];
}

// The worst state wins the summary: a rejected credential breaks every repo, a forbidden one breaks one.
const SEVERITY: HealthState[] = ['ok', 'unknown', 'rate_limited', 'forbidden', 'unreachable', 'unauthorised'];

export class GitHubHealth implements ApiObserver {
  private readonly repos = new Map<string, RepoHealth>();

  constructor(private readonly now: () => number = Date.now) {}

  onResult(repo: string, state: GitHubState, error?: string): void {
    const key = repo.toLowerCase();
    const at = this.now();
    const before = this.repos.get(key) ?? { repo, state: 'unknown' as HealthState };
    const next: RepoHealth = {
      ...before,
      state,
      checkedAt: at,
      since: before.state === state ? (before.since ?? at) : at,
    };
    if (state !== 'ok' && error) Object.assign(next, { lastError: error, lastErrorAt: at });
    this.repos.set(key, next);
  }

  /** The configured repos' health, in config order; a repo GitHub has not answered for yet is unknown. */
  snapshot(configured: readonly string[]): GitHubHealthSnapshot {
    const repos = configured.map((repo) => ({
      ...(this.repos.get(repo.toLowerCase()) ?? { state: 'unknown' as HealthState }),
      repo,
    }));
    const state = repos.reduce<HealthState>(
      (worst, r) => (SEVERITY.indexOf(r.state) > SEVERITY.indexOf(worst) ? r.state : worst),
      repos.length ? 'ok' : 'unknown',
    );
    return { state, repos };
  }
}
