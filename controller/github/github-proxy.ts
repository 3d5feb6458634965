// GitHub behind an outbound proxy. Node 20's global fetch ignores HTTPS_PROXY, HTTP_PROXY and NO_PROXY, so when one
// of them is set the GitHub client fetches through undici's EnvHttpProxyAgent instead; with none set nothing changes.
// A custom CA (a TLS-inspecting proxy, GitHub Enterprise Server) comes from NODE_EXTRA_CA_CERTS, which Node reads
// into its default trust store at start: undici's connections, tunnelled or not, verify against that store.
import { EnvHttpProxyAgent, fetch as undiciFetch } from 'undici';

export interface ProxySettings {
  httpProxy: string;
  httpsProxy: string;
  noProxy: string;
}

// Lower case first, as curl and undici read them; the upper-case names are the fallback.
const read = (env: NodeJS.ProcessEnv, name: string): string =>
  (env[name.toLowerCase()] ?? env[name.toUpperCase()] ?? '').trim();

/** A proxy URL with its credentials replaced, fit for logs, errors and `factory doctor`. */
export function redactProxyUrl(value: string): string {
  return value.replace(
    /^([a-z][a-z0-9+.-]*:\/\/)?[^/@\s]*@/i,
    (_m, scheme: string | undefined) => `${scheme ?? ''}***@`,
  );
}

/**
 * The proxy variables in `env`, checked; undefined when neither HTTPS_PROXY nor HTTP_PROXY is set. A malformed value
 * is an error that names the variable and shows the value without its credentials.
 */
export function proxySettings(env: NodeJS.ProcessEnv): ProxySettings | undefined {
  const settings = {
    httpProxy: read(env, 'http_proxy'),
    httpsProxy: read(env, 'https_proxy'),
    noProxy: read(env, 'no_proxy'),
  };
  if (!settings.httpProxy && !settings.httpsProxy) return undefined;
  for (const [name, value] of [
    ['HTTPS_PROXY', settings.httpsProxy],
    ['HTTP_PROXY', settings.httpProxy],
  ] as const) {
    if (!value) continue;
    let url: URL | undefined;
    try {
      url = new URL(value);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || !url.hostname)
      throw new Error(
        `${name} (or ${name.toLowerCase()}): expected a proxy URL like http://proxy.example:3128, got "${redactProxyUrl(value)}"`,
      );
  }
  return settings;
}

/** Which proxy GitHub requests take, credentials redacted: what the controller logs and `factory doctor` shows. */
export function describeProxy(settings: ProxySettings | undefined): string {
  if (!settings) return 'none: GitHub is reached directly (no HTTPS_PROXY or HTTP_PROXY set)';
  const parts = [];
  if (settings.httpsProxy) parts.push(`https through ${redactProxyUrl(settings.httpsProxy)}`);
  if (settings.httpProxy) parts.push(`http through ${redactProxyUrl(settings.httpProxy)}`);
  if (!settings.httpsProxy) parts.push('https through the http proxy');
  parts.push(settings.noProxy ? `not for NO_PROXY ${settings.noProxy}` : 'for every host (NO_PROXY is empty)');
  return parts.join('; ');
}

/** The fetch the GitHub client uses: the global one, or undici's through the proxies in `settings`. */
export function proxiedFetch(settings: ProxySettings | undefined): typeof fetch {
  // Looked up per call, so an interceptor installed after the client was made (nock in tests) still sees it.
  if (!settings) return (input, init) => globalThis.fetch(input, init);
  // Empty strings, not undefined: the agent would otherwise fall back to process.env, not the env it was given.
  const dispatcher = new EnvHttpProxyAgent(settings);
  return ((input: Parameters<typeof fetch>[0], init?: RequestInit) =>
    undiciFetch(input as Parameters<typeof undiciFetch>[0], {
      ...(init as Parameters<typeof undiciFetch>[1]),
      dispatcher,
    })) as unknown as typeof fetch;
}
