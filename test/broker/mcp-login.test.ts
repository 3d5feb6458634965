// A hosted MCP login as the host's claude files it, read and merged back after a refresh: only the refreshed fields
// change, of the entry and of the file.
import { describe, expect, it } from 'vitest';
import { mcpLoginEntry, mergedMcpLogin } from '../../controller/broker/mcp-login.js';

const KEY = 'linear|0123456789abcdef';
const host = (entry: Record<string, unknown>) =>
  JSON.stringify({
    claudeAiOauth: { accessToken: 'own' },
    mcpOAuth: { [KEY]: entry, 'other|x': { accessToken: 'o' } },
  });

describe('a hosted MCP login in claude credentials', () => {
  it('is no login when claude blanked it, when the entry is missing, or when the file is not JSON', () => {
    expect(mcpLoginEntry(host({ serverUrl: 'https://s/mcp', accessToken: '' }), KEY)).toBeUndefined();
    expect(mcpLoginEntry(host({ serverUrl: 'https://s/mcp', accessToken: 'a' }), 'nope|0')).toBeUndefined();
    expect(mcpLoginEntry('{not json', KEY)).toBeUndefined();
    expect(mcpLoginEntry(undefined, KEY)).toBeUndefined();
  });

  it('keeps the refresh token a server did not rotate and drops an expiry the server no longer gives', () => {
    const before = { serverUrl: 'https://s/mcp', accessToken: 'a1', refreshToken: 'r1', expiresAt: 5, clientId: 'c' };
    const merged = JSON.parse(mergedMcpLogin(host(before), KEY, { access_token: 'a2' }, 1000));
    expect(merged.mcpOAuth[KEY]).toEqual({
      serverUrl: 'https://s/mcp',
      accessToken: 'a2',
      refreshToken: 'r1',
      clientId: 'c',
    });
    expect(merged.mcpOAuth['other|x']).toEqual({ accessToken: 'o' });
    expect(merged.claudeAiOauth).toEqual({ accessToken: 'own' });
  });

  it('takes the rotated refresh token, the new lifetime from now and the scope granted', () => {
    const before = { serverUrl: 'https://s/mcp', accessToken: 'a1', refreshToken: 'r1', expiresAt: 5, scope: 'read' };
    const tokens = { access_token: 'a2', refresh_token: 'r2', expires_in: 60, scope: 'read write' };
    expect(JSON.parse(mergedMcpLogin(host(before), KEY, tokens, 1000)).mcpOAuth[KEY]).toEqual({
      serverUrl: 'https://s/mcp',
      accessToken: 'a2',
      refreshToken: 'r2',
      expiresAt: 61_000,
      scope: 'read write',
    });
  });
});
