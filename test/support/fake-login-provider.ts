// The two token endpoints a lane's logins refresh at, on loopback, as the real ones behave: a refresh token is
// redeemed once (rotated: the old one answers invalid_grant after), an unknown one answers invalid_grant, and each
// answer names the account the tokens belong to (codex: an id_token whose claims carry the ChatGPT account; claude:
// `account.uuid`). The account is the provider's record of who the refresh token was issued to, never the caller's.
import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';

export interface FakeLoginProvider {
  url: string;
  /** Issues a refresh token for an account, as a login on that account would. */
  issue(agent: 'codex' | 'claude', account: string): string;
  /** Every request body, for the tests that check what the host sent. */
  requests: Array<{ path: string; body: Record<string, unknown> }>;
  close(): Promise<void>;
}

export const codexIdToken = (account: string, user = `user-${account}`) =>
  [
    Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT' })).toString('base64url'),
    Buffer.from(
      JSON.stringify({
        sub: user,
        email: `${user}@example.com`,
        'https://api.openai.com/auth': { chatgpt_account_id: account, chatgpt_user_id: user, chatgpt_plan_type: 'pro' },
      }),
    ).toString('base64url'),
    'signature',
  ].join('.');

export async function startFakeLoginProvider(): Promise<FakeLoginProvider> {
  const live = new Map<string, { agent: 'codex' | 'claude'; account: string }>();
  const requests: FakeLoginProvider['requests'] = [];
  const issue = (agent: 'codex' | 'claude', account: string) => {
    const token = `${agent}-rt-${randomBytes(8).toString('hex')}`;
    live.set(token, { agent, account });
    return token;
  };
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const agent =
        req.url === '/codex/oauth/token' ? 'codex' : req.url === '/claude/v1/oauth/token' ? 'claude' : undefined;
      const send = (status: number, body: unknown) =>
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        return send(400, { error: 'invalid_request' });
      }
      requests.push({ path: req.url ?? '', body });
      if (!agent || req.method !== 'POST') return send(404, { error: 'not_found' });
      if (body.grant_type !== 'refresh_token') return send(400, { error: 'unsupported_grant_type' });
      const grant = live.get(String(body.refresh_token));
      if (!grant || grant.agent !== agent)
        return send(agent === 'codex' ? 401 : 400, {
          error: 'invalid_grant',
          error_description: 'refresh token is invalid or was already used',
        });
      live.delete(String(body.refresh_token));
      const refresh = issue(agent, grant.account);
      if (agent === 'codex')
        return send(200, {
          id_token: codexIdToken(grant.account),
          access_token: `codex-at-${randomBytes(6).toString('hex')}`,
          refresh_token: refresh,
        });
      return send(200, {
        token_type: 'Bearer',
        access_token: `sk-ant-oat01-${randomBytes(6).toString('hex')}`,
        refresh_token: refresh,
        expires_in: 28_800,
        scope: 'user:inference user:profile',
        account: { uuid: grant.account, email_address: `${grant.account}@example.com` },
        organization: { uuid: `org-${grant.account}`, name: 'org' },
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    issue,
    requests,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
