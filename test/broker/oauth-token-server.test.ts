// Finding a hosted MCP login's token endpoint and redeeming its refresh token, against a loopback server that
// publishes what the test gives it: the discovery order the MCP spec and RFC 8414/9728 set, the client
// authentication the metadata allows, and a refresh token never carried where the endpoint redirects.
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { discoverTokenServer, redeemRefreshToken } from '../../controller/broker/oauth-token-server.js';

interface Seen {
  method: string;
  url: string;
  authorization: string;
  body: string;
}
let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

/** A server answering `routes[path]` (status and JSON), 404 elsewhere; `base` is its origin. */
async function serve(routes: (base: string) => Record<string, [number, unknown, Record<string, string>?]>) {
  const seen: Seen[] = [];
  let base = '';
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization ?? '', body });
      const [status, json, headers] = routes(base)[req.url!] ?? [404, { error: 'not_found' }];
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(json));
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server!.address() as { port: number }).port}`;
  return { base, seen };
}

describe('discovering the token server of a hosted MCP login', () => {
  it("follows the resource's metadata to a path-named authorization server and names the resource", async () => {
    const { base, seen } = await serve((b) => ({
      '/.well-known/oauth-protected-resource/mcp': [
        200,
        { resource: `${b}/mcp`, authorization_servers: [`${b}/tenant`] },
      ],
      '/.well-known/oauth-authorization-server/tenant': [
        200,
        { issuer: `${b}/tenant`, token_endpoint: `${b}/tenant/token`, token_endpoint_auth_methods_supported: ['none'] },
      ],
    }));
    expect(await discoverTokenServer(`${base}/mcp`, {})).toEqual({
      tokenEndpoint: `${base}/tenant/token`,
      authMethods: ['none'],
      resource: `${base}/mcp`,
      discovered: true,
    });
    expect(seen.map((s) => s.url)).toEqual([
      '/.well-known/oauth-protected-resource/mcp',
      '/.well-known/oauth-authorization-server/tenant',
    ]);
  });

  it('falls back to OpenID discovery, and prefers the authorization server the login was made with', async () => {
    const { base } = await serve((b) => ({
      '/.well-known/oauth-protected-resource': [200, { resource: b, authorization_servers: [`${b}/elsewhere`] }],
      '/.well-known/openid-configuration/made': [200, { token_endpoint: `${b}/made/token` }],
    }));
    const at = await discoverTokenServer(`${base}/mcp`, { authorizationServerUrl: `${base}/made` });
    expect(at).toMatchObject({ tokenEndpoint: `${base}/made/token`, authMethods: [], discovered: true });
  });

  it('ignores a resource of another origin, and guesses /token when there is no metadata (not kept: it says so)', async () => {
    const { base } = await serve(() => ({
      '/.well-known/oauth-protected-resource/mcp': [200, { resource: 'https://evil.example/mcp' }],
    }));
    expect(await discoverTokenServer(`${base}/mcp`, {})).toEqual({
      tokenEndpoint: `${base}/token`,
      authMethods: [],
      resource: undefined,
      discovered: false,
    });
  });
});

describe('redeeming a refresh token', () => {
  const at = (base: string, authMethods: string[] = []) => ({
    tokenEndpoint: `${base}/token`,
    authMethods,
    resource: `${base}/mcp`,
    discovered: true,
  });

  it('authenticates with HTTP Basic when the metadata does not say (RFC 8414), and takes a lifetime given as text', async () => {
    const { base, seen } = await serve(() => ({
      '/token': [200, { access_token: 'at-2', refresh_token: 'rt-2', expires_in: '3600', token_type: 'Bearer' }],
    }));
    const answer = await redeemRefreshToken(at(base), { clientId: 'cid', clientSecret: 's3' }, 'rt-1');
    expect(answer).toEqual({ access_token: 'at-2', refresh_token: 'rt-2', expires_in: 3600 });
    expect(seen[0]!.authorization).toBe(`Basic ${Buffer.from('cid:s3').toString('base64')}`);
    expect(Object.fromEntries(new URLSearchParams(seen[0]!.body))).toEqual({
      grant_type: 'refresh_token',
      refresh_token: 'rt-1',
      resource: `${base}/mcp`,
    });
  });

  it('sends a public client its id alone, and a client_secret_post client its secret in the form', async () => {
    const { base, seen } = await serve(() => ({ '/token': [200, { access_token: 'at' }] }));
    await redeemRefreshToken(at(base, ['none']), { clientId: 'pub' }, 'rt');
    await redeemRefreshToken(at(base, ['client_secret_post']), { clientId: 'conf', clientSecret: 's' }, 'rt');
    const forms = seen.map((s) => Object.fromEntries(new URLSearchParams(s.body)));
    expect([seen[0]!.authorization, forms[0]!.client_id, forms[0]!.client_secret]).toEqual(['', 'pub', undefined]);
    expect([seen[1]!.authorization, forms[1]!.client_id, forms[1]!.client_secret]).toEqual(['', 'conf', 's']);
  });

  it("throws the server's error code and description", async () => {
    const { base } = await serve(() => ({
      '/token': [400, { error: 'invalid_grant', error_description: 'refresh token already used' }],
    }));
    await expect(redeemRefreshToken(at(base), { clientId: 'c' }, 'rt')).rejects.toThrow(
      'HTTP 400, invalid_grant: refresh token already used',
    );
  });

  it('does not follow a redirect with the refresh token', async () => {
    const { base, seen } = await serve((b) => ({
      '/token': [307, {}, { location: `${b}/stolen` }],
      '/stolen': [200, { access_token: 'at' }],
    }));
    await expect(redeemRefreshToken(at(base), { clientId: 'c' }, 'rt')).rejects.toThrow();
    expect(seen.map((s) => s.url)).toEqual(['/token']);
  });
});
