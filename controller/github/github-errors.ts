// What a failed GitHub call means for the operator: each kind has its own fix, so health, status and doctor can say
// which one it is instead of one "GitHub error" for a bad token, a refused connection and a missing permission.
import type { GitHubState } from '../model/api-observer.js';

/** certificate: no answer because GitHub's (or a TLS-inspecting proxy's) certificate is not trusted here. */
export type GitHubErrorKind = Exclude<GitHubState, 'ok'> | 'not_found' | 'rejected' | 'certificate';

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
  if (kind === 'certificate') return 'unreachable';
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

const CERTIFICATE_FIX =
  "GitHub's TLS certificate is not trusted here: when a TLS-inspecting proxy or GitHub Enterprise Server signs with a private CA, put that CA's PEM file in NODE_EXTRA_CA_CERTS in the controller's environment and restart it (Node reads the file at start)";

/** The fix for a failed call: its state's, or the certificate's own (it counts as unreachable in health). */
export function fixFor(kind: GitHubErrorKind): string {
  if (kind === 'certificate') return CERTIFICATE_FIX;
  const state = stateOf(kind);
  return state === 'ok' ? 'see the message' : FIX[state];
}

// Node's codes for a certificate that does not verify: an unknown issuer, a self-signed one, expired, wrong name.
const CERTIFICATE_CODE =
  /^(UNABLE_TO_GET_ISSUER_CERT|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|CERT_[A-Z_]+|ERR_TLS_CERT_ALTNAME_INVALID)$/;

/**
 * The message for a request that failed because the server's certificate does not verify, naming Node's code and
 * the variable that fixes it; undefined for any other failure.
 */
export function certificateFailure(err: unknown): string | undefined {
  for (
    let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0;
    e && depth < 5;
    e = e.cause as typeof e, depth += 1
  ) {
    if (typeof e.code === 'string' && CERTIFICATE_CODE.test(e.code))
      return `TLS certificate not trusted: ${e.code} (${String(e.message)}); if a private CA signs it, set NODE_EXTRA_CA_CERTS to its PEM file`;
  }
  return undefined;
}

/**
 * The proxy's own refusal of the tunnel (undici reports it under a generic "Request was cancelled"), with what to
 * check: 407 is the proxy's credentials, anything else its policy. Undefined when no proxy refused.
 */
export function proxyRefusal(err: unknown): string | undefined {
  for (
    let e = err as { message?: unknown; cause?: unknown } | undefined, depth = 0;
    e && depth < 5;
    e = e.cause as typeof e, depth += 1
  ) {
    const status = /Proxy response \((\d+)\)/.exec(String(e.message))?.[1];
    if (status === '407')
      return 'the proxy refused the tunnel with 407 Proxy Authentication Required: check the user and password in HTTPS_PROXY';
    if (status)
      return `the proxy refused the tunnel with ${status}: check that it allows CONNECT to github.apiUrl's host`;
  }
  return undefined;
}

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
