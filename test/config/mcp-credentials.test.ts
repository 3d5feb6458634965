// `credential: gh` on an http MCP server: the host's gh login, which only a brokered job's broker adds. A profile
// without a gh mount, or one whose jobs are not brokered, is refused by validate with the fix named.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../controller/config/config.js';
import { BROKER_URL_MARK, MCP_BROKER_TOKEN_ENV, renderClaudeMcp } from '../../controller/lanes/mcp-render.js';

const config = (profile: string) => `
github: { auth: { tokenEnv: T }, webhook: { secret: { env: S } } }
profiles:
  lane:
    trusted: true
    labels: [self-hosted, factory, lane]
    image: factory/base:0.1.0
    agentUser: "1001:1001"
${profile}
    mcp: [{ name: github, url: "https://api.githubcopilot.com/mcp/", credential: gh }]
repos: [{ repo: o/r, profiles: [lane] }]
`;
const CLAUDE = '{ kind: auth, agent: claude, source: /home/u/.claude }';
const GH = '{ kind: gh, source: /home/u/.config/gh }';

const problems = (text: string) => {
  const r = parseConfig(text);
  return r.ok ? [] : r.problems;
};

describe('credential: gh', () => {
  it("is accepted on a brokered profile that carries the host's gh login", () => {
    expect(problems(config(`    network: host\n    auth: broker\n    mounts: [${CLAUDE}, ${GH}]`))).toEqual([]);
  });

  it('is refused on a copy profile, whose job would need the token itself', () => {
    expect(problems(config(`    network: host\n    mounts: [${CLAUDE}, ${GH}]`))).toEqual([
      expect.stringMatching(
        /^profiles\.lane\.mcp\[0\]\.credential: credential gh is added by the job's broker, and profile "lane" is not brokered \(auth is copy\): use auth: broker/,
      ),
    ]);
  });

  it('is refused on a brokered profile without a gh mount', () => {
    expect(problems(config(`    network: host\n    auth: broker\n    mounts: [${CLAUDE}]`))).toEqual([
      expect.stringContaining('has no gh mount to carry it'),
    ]);
  });

  it("is rendered at the job's broker, with the placeholder variable as its bearer", () => {
    const r = parseConfig(config(`    network: host\n    auth: broker\n    mounts: [${CLAUDE}, ${GH}]`));
    if (!r.ok) throw new Error(r.problems.join('\n'));
    expect(JSON.parse(renderClaudeMcp(r.config.profiles.lane!.mcp, true)).mcpServers.github).toEqual({
      type: 'http',
      url: `${BROKER_URL_MARK}/mcp/github`,
      headers: { Authorization: `Bearer \${${MCP_BROKER_TOKEN_ENV}}` },
    });
  });
});
