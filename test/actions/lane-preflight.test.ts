import { describe, expect, it } from 'vitest';
import { loginProblem } from '../../actions/lane-core/login-check.js';
import { claudeMcpServers, codexMcpServers, withClaudeMcpLogins } from '../../actions/lane-core/mcp-servers.js';

const now = Date.parse('2026-01-01T00:00:00Z');

describe('the login check', () => {
  const claude = (oauth: object) => ({
    path: '/lane/.credentials.json',
    text: JSON.stringify({ claudeAiOauth: oauth }),
  });

  it('passes a claude login past its time that can refresh', () => {
    expect(loginProblem('claude', claude({ accessToken: 'a', refreshToken: 'r', expiresAt: now - 1 }), {}, now)).toBe(
      undefined,
    );
  });

  it('names an expired claude login that cannot refresh, and the fix', () => {
    expect(loginProblem('claude', claude({ accessToken: 'a', expiresAt: now - 1 }), {}, now)).toMatch(
      /^the claude login in \/lane\/.credentials.json expired at 2025-12-31T23:59:59.999Z and holds no refresh token; sign in again on the host/,
    );
  });

  it('an API key in the environment is a login', () => {
    expect(loginProblem('codex', { path: '/lane/auth.json', text: '{}' }, { OPENAI_API_KEY: 'sk-x' }, now)).toBe(
      undefined,
    );
    expect(loginProblem('codex', { path: '/lane/auth.json', text: '{}' }, {}, now)).toMatch(
      /holds neither an API key nor tokens/,
    );
  });

  it('names a credential file that is not JSON', () => {
    expect(loginProblem('codex', { path: '/lane/auth.json', text: '{' }, {}, now)).toMatch(
      /^the codex credential file \/lane\/auth.json is not JSON/,
    );
  });
});

describe('the MCP servers a run starts', () => {
  it("reads claude's config with its variables expanded", () => {
    const json = JSON.stringify({
      mcpServers: {
        docs: { type: 'stdio', command: 'npx', args: ['-y', 'docs', '${ROOT:-/srv}'], env: { KEY: '${KEY}' } },
        linear: { type: 'http', url: 'https://mcp.example/mcp', headers: { Authorization: 'Bearer ${LINEAR_TOKEN}' } },
      },
    });
    expect(claudeMcpServers(json, { KEY: 'k', LINEAR_TOKEN: 't' })).toEqual([
      { name: 'docs', kind: 'stdio', command: 'npx', args: ['-y', 'docs', '/srv'], env: { KEY: 'k' } },
      { name: 'linear', kind: 'http', url: 'https://mcp.example/mcp', headers: { Authorization: 'Bearer t' } },
    ]);
  });

  it("reads codex's tables as the lane renders them, sub-tables and bearer variables included", () => {
    const toml = [
      'model = "o3"',
      '[mcp_servers.pkm]',
      'command = "uv"',
      'args = ["run", "pkm"]',
      'env = { A = "1" }',
      '',
      '[mcp_servers.linear]',
      'url = "https://mcp.example/mcp"',
      'bearer_token_env_var = "LINEAR_TOKEN"',
      '',
      '[mcp_servers.off]',
      'command = "x"',
      'enabled = false',
      '',
      '[mcp_servers.pkm.env]',
      'B = "2"',
    ].join('\n');
    expect(codexMcpServers(toml, { LINEAR_TOKEN: 't' })).toEqual([
      { name: 'pkm', kind: 'stdio', command: 'uv', args: ['run', 'pkm'], env: { A: '1', B: '2' } },
      { name: 'linear', kind: 'http', url: 'https://mcp.example/mcp', headers: { Authorization: 'Bearer t' } },
    ]);
  });

  it("asks a hosted server with claude's kept login for it, and only that server with only its own", () => {
    const servers = claudeMcpServers(
      JSON.stringify({
        mcpServers: {
          linear: { type: 'http', url: 'https://mcp.linear.app/mcp' },
          sentry: { type: 'http', url: 'https://mcp.sentry.dev/mcp' },
          own: { type: 'http', url: 'https://mcp.linear.app/mcp', headers: { Authorization: 'Bearer mine' } },
        },
      }),
      {},
    );
    const credentials = JSON.stringify({
      claudeAiOauth: { accessToken: 'model' },
      mcpOAuth: {
        'linear|0123': { serverName: 'linear', serverUrl: 'https://mcp.linear.app/mcp', accessToken: 'lin-access' },
        // Same name, another URL: a login for some other server, never sent to this one.
        'sentry|4567': { serverName: 'sentry', serverUrl: 'https://evil.example/mcp', accessToken: 'sentry-access' },
      },
    });
    const headers = withClaudeMcpLogins(servers, credentials).map((s) => (s.kind === 'http' ? s.headers : {}));
    expect(headers).toEqual([{ Authorization: 'Bearer lin-access' }, {}, { Authorization: 'Bearer mine' }]);
    expect(withClaudeMcpLogins(servers, '{not json')).toEqual(servers);
    expect(withClaudeMcpLogins(servers, undefined)).toEqual(servers);
  });
});
