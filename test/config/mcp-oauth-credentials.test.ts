// An `oauth` MCP server is the login the host's claude keeps for it: a profile without a claude login has none to
// give, copied or brokered, so validate refuses it and says to use a static token (what codex-only lanes use).
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../controller/config/config.js';

const config = (auth: 'broker' | 'copy', mounts: string) =>
  parseConfig(`
github: { auth: { tokenEnv: T }, webhook: { secret: { env: S } } }
profiles:
  codex:
    trusted: true
    lane: codex
    labels: [self-hosted, factory, codex]
    image: factory/base:0.1.0
    network: host
    auth: ${auth}
    mounts: ${mounts}
    mcp: [{ name: linear, url: https://mcp.linear.app/mcp, credential: oauth }]
repos: [{ repo: o/r, profiles: [codex] }]
`);

describe('an oauth MCP server on a profile', () => {
  it.each(['copy', 'broker'] as const)('without a claude login is refused (auth: %s)', (auth) => {
    const parsed = config(auth, '[{ kind: auth, agent: codex, source: /home/ali/.codex }]');
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? [] : parsed.problems).toContainEqual(
      expect.stringMatching(
        /^profiles\.codex\.mcp\[0\]\.credential: credential oauth is the login claude keeps for linear .* has no claude auth mount to carry it: add \{ kind: auth, agent: claude, \.\.\. \} or use credential: token/,
      ),
    );
  });

  it('of a codex lane that carries a claude login is accepted: its broker adds that login', () => {
    const parsed = config(
      'broker',
      '[{ kind: auth, agent: codex, source: /home/ali/.codex }, { kind: auth, agent: claude, source: /home/ali/.claude }]',
    );
    expect(parsed.ok ? [] : parsed.problems).toEqual([]);
  });
});
