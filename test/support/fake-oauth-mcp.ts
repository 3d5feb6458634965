// A hosted MCP server behind OAuth on loopback, with its authorization server, as Linear's, Sentry's or Cloudflare's
// behave at their worst: the MCP server names its authorization server in its protected-resource metadata (RFC 9728)
// and answers 401 to a token it does not know, that has expired or was revoked; the authorization server publishes
// its metadata (RFC 8414), takes refresh grants from its registered client alone, rotates the refresh token on each
// use, answers a spent refresh token with invalid_grant, revoking everything issued from that login (the reuse
// detection OAuth 2.1 asks for), and issues tokens for the resource named (RFC 8707) alone. Both read one clock, which
// the tests move.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { claudeMcpOAuthKey } from '../../controller/lanes/mcp-render.js';

export interface FakeOAuthMcp {
  /** The MCP server's url, as `claude mcp add` names it. */
  url: string;
  /** The authorization server's issuer url. */
  issuer: string;
  /** The client the host's claude registered, and a login made with it: what `/mcp` leaves in .credentials.json. */
  login(): { clientId: string; clientSecret: string; accessToken: string; refreshToken: string; expiresAt: number };
  /** Refresh grants the token endpoint honoured, and every one it was sent. */
  refreshes: number;
  refreshRequests: number;
  /** Every Authorization header the MCP server was sent ('' for none). */
  authorizations: string[];
  /** Revokes every access token issued so far, as a provider does on a password change. */
  revokeAccessTokens(): void;
  close(): Promise<void>;
}

/**
 * The host claude's `mcpOAuth` for `server`, as `/mcp` files `login` (one of server.login()'s) under claude's key:
 * its tokens and client, its authorization server, and `expiresAt` (the login's own unless given).
 */
export function hostMcpOAuth(
  name: string,
  server: FakeOAuthMcp,
  login: ReturnType<FakeOAuthMcp['login']>,
  expiresAt = login.expiresAt,
): Record<string, unknown> {
  return {
    [claudeMcpOAuthKey(name, server.url)]: {
      serverName: name,
      serverUrl: server.url,
      accessToken: login.accessToken,
      refreshToken: login.refreshToken,
      expiresAt,
      clientId: login.clientId,
      clientSecret: login.clientSecret,
      discoveryState: { authorizationServerUrl: server.issuer },
    },
  };
}

export interface FakeOAuthMcpOptions {
  name: string;
  /** The clock both servers read, in ms. */
  now: () => number;
  /** How long an access token lives. */
  lifetimeMs?: number;
  /** How long the token endpoint takes to answer, so concurrent refreshers would overlap. */
  tokenDelayMs?: number;
}

interface Family {
  revoked: boolean;
}

export async function startFakeOAuthMcp(opts: FakeOAuthMcpOptions): Promise<FakeOAuthMcp> {
  const lifetime = opts.lifetimeMs ?? 3600_000;
  const client = { id: `client-${randomBytes(4).toString('hex')}`, secret: `secret-${randomBytes(6).toString('hex')}` };
  const access = new Map<string, { expiresAt: number; family: Family; revoked: boolean }>();
  const refresh = new Map<string, { used: boolean; family: Family }>();
  const authorizations: string[] = [];
  const self: FakeOAuthMcp = {
    url: '',
    issuer: '',
    refreshes: 0,
    refreshRequests: 0,
    authorizations,
    login: () => {
      const t = issue({ revoked: false });
      return { clientId: client.id, clientSecret: client.secret, ...t };
    },
    revokeAccessTokens: () => access.forEach((a) => (a.revoked = true)),
    close: async () => {
      await Promise.all([stop(auth), stop(mcp)]);
    },
  };
  function issue(family: Family) {
    const accessToken = `${opts.name}-at-${randomBytes(6).toString('hex')}`;
    const refreshToken = `${opts.name}-rt-${randomBytes(6).toString('hex')}`;
    const expiresAt = opts.now() + lifetime;
    access.set(accessToken, { expiresAt, family, revoked: false });
    refresh.set(refreshToken, { used: false, family });
    return { accessToken, refreshToken, expiresAt };
  }

  const auth: Server = createServer((req, res) => {
    void body(req).then(async (raw) => {
      if (req.url === '/.well-known/oauth-authorization-server')
        return json(res, 200, {
          issuer: self.issuer,
          authorization_endpoint: `${self.issuer}/authorize`,
          token_endpoint: `${self.issuer}/oauth/token`,
          registration_endpoint: `${self.issuer}/register`,
          response_types_supported: ['code'],
          grant_types_supported: ['authorization_code', 'refresh_token'],
          code_challenge_methods_supported: ['S256'],
          token_endpoint_auth_methods_supported: ['client_secret_post'],
        });
      if (req.url !== '/oauth/token' || req.method !== 'POST') return json(res, 404, { error: 'not_found' });
      self.refreshRequests += 1;
      await new Promise((r) => setTimeout(r, opts.tokenDelayMs ?? 0));
      const form = new URLSearchParams(raw);
      if (form.get('grant_type') !== 'refresh_token') return json(res, 400, { error: 'unsupported_grant_type' });
      if (form.get('client_id') !== client.id || form.get('client_secret') !== client.secret)
        return json(res, 401, { error: 'invalid_client' });
      // Its tokens are for its one resource: a client that names another (or none, having read the server's
      // protected-resource metadata, as the MCP spec has it do) is refused.
      if (form.get('resource') !== self.url) return json(res, 400, { error: 'invalid_target' });
      const grant = refresh.get(form.get('refresh_token') ?? '');
      if (!grant || grant.used || grant.family.revoked) {
        // A refresh token presented twice: someone holds a copy, so the whole login is revoked.
        if (grant) grant.family.revoked = true;
        return json(res, 400, {
          error: 'invalid_grant',
          error_description: 'refresh token is invalid or was already used',
        });
      }
      grant.used = true;
      self.refreshes += 1;
      const t = issue(grant.family);
      return json(res, 200, {
        access_token: t.accessToken,
        token_type: 'Bearer',
        expires_in: Math.round(lifetime / 1000),
        refresh_token: t.refreshToken,
        scope: 'read write',
      });
    });
  });

  const mcp: Server = createServer((req, res) => {
    if (req.url === '/.well-known/oauth-protected-resource/mcp' || req.url === '/.well-known/oauth-protected-resource')
      return json(res, 200, { resource: self.url, authorization_servers: [self.issuer] });
    const authorization = req.headers.authorization ?? '';
    authorizations.push(authorization);
    const held = access.get(/^Bearer (\S+)$/.exec(authorization)?.[1] ?? '');
    if (!held || held.revoked || held.family.revoked || held.expiresAt <= opts.now()) {
      req.resume();
      res.writeHead(401, {
        'content-type': 'application/json',
        'www-authenticate': `Bearer error="invalid_token", resource_metadata="${new URL(self.url).origin}/.well-known/oauth-protected-resource/mcp"`,
      });
      return res.end('{"error":"invalid_token"}');
    }
    // Stateless: one server and transport per request, as the SDK's stateless example does.
    const server = new McpServer({ name: opts.name, version: '1.0.0' });
    server.registerTool('whoami', { description: 'The account this login belongs to.' }, async () => ({
      content: [{ type: 'text', text: `${opts.name} account: the host's own` }],
    }));
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => void transport.close().then(() => server.close()));
    void server.connect(transport).then(() => transport.handleRequest(req, res));
  });

  for (const s of [auth, mcp]) await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  self.issuer = `http://127.0.0.1:${(auth.address() as { port: number }).port}`;
  self.url = `http://127.0.0.1:${(mcp.address() as { port: number }).port}/mcp`;
  return self;
}

const body = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => resolve(raw));
  });

const json = (res: ServerResponse, status: number, value: unknown) =>
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));

const stop = (s: Server) =>
  new Promise<void>((r) => {
    s.closeAllConnections();
    s.close(() => r());
  });
