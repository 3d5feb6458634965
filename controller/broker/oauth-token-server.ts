// Where a hosted MCP server's login is refreshed, and the refresh itself, as the MCP spec's authorization section has
// clients do (and claude's own client, the MCP SDK's, does): the server's protected-resource metadata (RFC 9728) names
// the resource and its authorization server, whose metadata (RFC 8414, else OpenID discovery) gives the token
// endpoint and the client authentication it takes; the refresh grant (RFC 6749 §6) names the resource (RFC 8707).
// Written here rather than taken from the SDK, which the controller's package leaves out (its server half would
// bring an HTTP framework along for these few requests).

export interface TokenServer {
  tokenEndpoint: string;
  /** token_endpoint_auth_methods_supported; empty when the metadata does not say. */
  authMethods: string[];
  /** The resource to name in the grant, when the server publishes its metadata. */
  resource: string | undefined;
  /** Whether the authorization server's metadata was found (else the token endpoint is the spec's `/token` guess). */
  discovered: boolean;
}

/** A token endpoint's answer to a refresh grant. */
export interface TokenAnswer {
  access_token: string;
  refresh_token?: string;
  expires_in?: number;
  scope?: string;
}

export interface Client {
  clientId: string;
  clientSecret?: string | undefined;
}

type Fetch = typeof fetch;
type Json = Record<string, unknown>;
const TIMEOUT_MS = 15_000;

/** `/.well-known/NAME` inserted before `url`'s path, as RFC 8414 and RFC 9728 place it; the root one when it has none. */
const wellKnown = (url: URL, name: string) =>
  new URL(`/.well-known/${name}${url.pathname === '/' ? '' : url.pathname.replace(/\/+$/, '')}`, url.origin);

async function getJson(url: URL, fetchFn: Fetch): Promise<Json | undefined> {
  const res = await fetchFn(url, {
    headers: { accept: 'application/json' },
    signal: AbortSignal.timeout(TIMEOUT_MS),
  }).catch(() => undefined);
  if (!res?.ok) {
    await res?.body?.cancel();
    return undefined;
  }
  const body = (await res.json().catch(() => undefined)) as unknown;
  return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Json) : undefined;
}

/**
 * The token server of the login for the MCP server at `serverUrl`. `authorizationServerUrl`: the one the login was
 * made with (claude's discoveryState), which wins over what the resource's metadata says now.
 */
export async function discoverTokenServer(
  serverUrl: string,
  known: { authorizationServerUrl?: string | undefined; resourceMetadataUrl?: string | undefined },
  fetchFn: Fetch = fetch,
): Promise<TokenServer> {
  const server = new URL(serverUrl);
  const resourceMetadata =
    (await getJson(
      known.resourceMetadataUrl ? new URL(known.resourceMetadataUrl) : wellKnown(server, 'oauth-protected-resource'),
      fetchFn,
    )) ??
    (server.pathname === '/' || known.resourceMetadataUrl
      ? undefined
      : await getJson(new URL('/.well-known/oauth-protected-resource', server.origin), fetchFn));
  const servers = resourceMetadata?.authorization_servers;
  const named = Array.isArray(servers) && typeof servers[0] === 'string' ? servers[0] : undefined;
  // Without metadata the MCP server's own origin is its authorization server (the spec's first revision).
  const issuer = new URL(known.authorizationServerUrl ?? named ?? server.origin);
  const path = issuer.pathname.replace(/\/+$/, '');
  const candidates = [
    wellKnown(issuer, 'oauth-authorization-server'),
    wellKnown(issuer, 'openid-configuration'),
    ...(path ? [new URL(`${path}/.well-known/openid-configuration`, issuer.origin)] : []),
  ];
  let metadata: Json | undefined;
  for (const url of candidates) if ((metadata = await getJson(url, fetchFn))) break;
  const methods = metadata?.token_endpoint_auth_methods_supported;
  const resource = typeof resourceMetadata?.resource === 'string' ? resourceMetadata.resource : undefined;
  return {
    tokenEndpoint:
      typeof metadata?.token_endpoint === 'string' ? metadata.token_endpoint : new URL('/token', issuer).toString(),
    authMethods: Array.isArray(methods) ? methods.filter((m): m is string => typeof m === 'string') : [],
    // Only a resource of the server's own origin: metadata that names another is not this server's to give.
    resource: resource && URL.canParse(resource) && new URL(resource).origin === server.origin ? resource : undefined,
    discovered: metadata !== undefined,
  };
}

/** The client authentication the token endpoint takes, in the SDK's order (RFC 8414's default: HTTP Basic). */
function authMethod(client: Client, supported: readonly string[]): 'basic' | 'post' | 'none' {
  const secret = client.clientSecret !== undefined;
  if (!secret) return 'none';
  if (supported.length === 0 || supported.includes('client_secret_basic')) return 'basic';
  if (supported.includes('client_secret_post')) return 'post';
  return supported.includes('none') ? 'none' : 'post';
}

/** Redeems `refreshToken` at the token server; throws with the server's error code and description. */
export async function redeemRefreshToken(
  at: TokenServer,
  client: Client,
  refreshToken: string,
  fetchFn: Fetch = fetch,
): Promise<TokenAnswer> {
  const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken });
  if (at.resource) form.set('resource', at.resource);
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
  };
  const method = authMethod(client, at.authMethods);
  if (method === 'basic')
    headers.authorization = `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`;
  else form.set('client_id', client.clientId);
  if (method === 'post') form.set('client_secret', client.clientSecret ?? '');
  // A refresh token is never carried anywhere the endpoint redirects to.
  const res = await fetchFn(at.tokenEndpoint, {
    method: 'POST',
    headers,
    body: form,
    redirect: 'error',
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  const body = (await res.json().catch(() => undefined)) as Json | undefined;
  if (res.ok && typeof body?.access_token === 'string' && body.access_token)
    return {
      access_token: body.access_token,
      ...(typeof body.refresh_token === 'string' && body.refresh_token ? { refresh_token: body.refresh_token } : {}),
      // Some servers send the lifetime as a string, which the SDK's client takes too.
      ...(Number.isFinite(Number(body.expires_in ?? NaN)) ? { expires_in: Number(body.expires_in) } : {}),
      ...(typeof body.scope === 'string' ? { scope: body.scope } : {}),
    };
  const code = typeof body?.error === 'string' ? body.error : 'no token in the answer';
  const description = typeof body?.error_description === 'string' ? `: ${body.error_description}` : '';
  throw new Error(`HTTP ${res.status}, ${code}${description}`);
}
