// The doctor's row per hosted MCP login: a copied lane can never renew an expired one, a brokered lane's broker
// refreshes it on the host; either way a missing login, or an expired one without a refresh token, needs a browser.
import { describe, expect, it } from 'vitest';
import { mcpOAuthRows } from '../../controller/commands/doctor-mcp-oauth.js';
import { parseConfig } from '../../controller/config/config.js';
import { mcpCredentialSource } from '../../controller/config/mcp-credentials.js';
import { claudeMcpOAuthKey } from '../../controller/lanes/mcp-render.js';

const URL_ = 'https://mcp.linear.app/mcp';
const NOW = Date.parse('2026-12-06T12:00:00Z');
const HOUR = 3600_000;

const profile = (auth: 'broker' | 'copy') => {
  const parsed = parseConfig(`
github: { auth: { tokenEnv: T }, webhook: { secret: { env: S } } }
profiles:
  claude:
    trusted: true
    labels: [self-hosted, factory, claude]
    image: factory/base:0.1.0
    network: host
    auth: ${auth}
    mounts: [{ kind: auth, agent: claude, source: /home/ali/.claude }]
    mcp: [{ name: linear, url: ${URL_}, credential: oauth }]
repos: [{ repo: o/r, profiles: [claude] }]
`);
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  return parsed.config.profiles.claude!;
};

const credentials = (entry: Record<string, unknown> | undefined) =>
  JSON.stringify({
    mcpOAuth: entry
      ? { [claudeMcpOAuthKey('linear', URL_)]: { serverName: 'linear', serverUrl: URL_, accessToken: 'at', ...entry } }
      : {},
  });
const row = (auth: 'broker' | 'copy', entry: Record<string, unknown> | undefined) =>
  mcpOAuthRows(profile(auth), '/home/ali/.claude', credentials(entry), NOW)[0]!;

describe("the doctor's hosted MCP login rows", () => {
  it('an expired login with a refresh token: a copied lane cannot renew it, a brokered one has it refreshed', () => {
    const expired = { refreshToken: 'rt', expiresAt: NOW - 2 * HOUR };
    expect(row('copy', expired)).toMatchObject({ ok: false, detail: expect.stringMatching(/a lane cannot renew it$/) });
    expect(row('broker', expired)).toEqual({
      name: 'mcp linear oauth token',
      ok: true,
      detail: 'expired at 2026-12-06T10:00:00.000Z (2h ago); the broker refreshes it on the host at its next request',
    });
  });

  it('an expired login without a refresh token fails on a brokered profile too, naming the step on the host', () => {
    const r = row('broker', { expiresAt: NOW - HOUR });
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(/holds no refresh token, so the broker cannot refresh it$/);
    expect(r.fix).toMatch(/run `claude`, type \/mcp, pick linear and authenticate in the browser/);
    expect(r.fix).toMatch(/the jobs' brokers send the new login from their next request$/);
  });

  it('a missing login fails whatever the profile', () => {
    for (const auth of ['copy', 'broker'] as const)
      expect(row(auth, undefined)).toMatchObject({
        ok: false,
        detail: 'no OAuth token for linear in /home/ali/.claude/.credentials.json',
      });
  });

  it('a current brokered login says whether the broker can keep it fresh', () => {
    expect(row('broker', { refreshToken: 'rt', expiresAt: NOW + 5 * HOUR }).detail).toMatch(
      /\(5h left\); the broker refreshes it on the host$/,
    );
    expect(row('broker', { expiresAt: NOW + 5 * HOUR }).detail).toMatch(/no refresh token: once it expires, log in/);
  });

  it("says where a brokered oauth server's credential comes from", () => {
    const s = profile('broker').mcp[0]!;
    expect(mcpCredentialSource(s)).toBe("http, claude's OAuth login for linear, carried in the claude auth copy");
    expect(mcpCredentialSource(s, true)).toBe(
      "http, claude's OAuth login for linear in the host's claude credentials, added by the job's broker (the job holds a placeholder), refreshed on the host",
    );
  });
});
