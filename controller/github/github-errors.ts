// What a failed GitHub call means for the operator: each kind has its own fix, so health, status and doctor can say
// which one it is instead of one "GitHub error" for a bad token, a refused connection and a missing permission.

/** ok: GitHub answered as asked. The rest: why it did not. */
export type GitHubState = 'ok' | 'unauthorised' | 'forbidden' | 'rate_limited' | 'unreachable';
export type GitHubErrorKind = Exclude<GitHubState, 'ok'> | 'not_found' | 'rejected';

type Headers = Record<string, string | number | undefined> | undefined;

/** The kind of a failed call, from its status (0: no answer at all), headers and message. */
export function classifyFailure(status: number, headers: Headers, message: string): GitHubErrorKind {
  if (status === 0 || status >= 500) return 'unreachable';
  if (status === 401) return 'unauthorised';
  // GitHub answers a spent rate limit with 403 (primary, secondary) or 429; a missing permission is a 403 too.
  if (
    status === 429 ||
    (status === 403 &&
      (String(headers?.['x-ratelimit-remaining']) === '0' ||
        headers?.['retry-after'] !== undefined ||
        /rate limit/i.test(message)))
  ) {
    return 'rate_limited';
  }
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  return 'rejected';
}

/**
 * The health a kind implies. On a repo's runner API a 404 means the credential cannot see the repo (GitHub hides
 * what a token may not read), which is a permission problem; other refusals (422, 409) are answers, so GitHub is fine.
 */
export function stateOf(kind: GitHubErrorKind): GitHubState {
  if (kind === 'not_found') return 'forbidden';
  if (kind === 'rejected') return 'ok';
  return kind;
}

/** The fix an operator needs for each state, as doctor and status print it. */
export const FIX: Record<Exclude<GitHubState, 'ok'>, string> = {
  unauthorised:
    'GitHub refuses the credential itself: replace the token (or the App private key / app id) named in github.auth',
  forbidden:
    "the credential works but may not manage this repo's runners: give it repository Administration: read and write and Actions: read on this repo (for an App: install it on the repo)",
  rate_limited:
    "GitHub's rate limit is spent: wait for the reset, or use a GitHub App (its limit grows with installations) instead of a personal token",
  unreachable:
    'GitHub does not answer: check DNS, the proxy (HTTPS_PROXY), firewall and github.apiUrl, or githubstatus.com',
};

/** The network error code under a failed fetch (ECONNREFUSED, ENOTFOUND, ETIMEDOUT), when there is one. */
export function networkCode(err: unknown): string | undefined {
  for (
    let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0;
    e && depth < 4;
    e = e.cause as typeof e, depth += 1
  ) {
    if (typeof e.code === 'string' && /^E[A-Z]+$|^UND_ERR/.test(e.code)) return e.code;
  }
  return undefined;
}
