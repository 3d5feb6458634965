// A unix socket path Linux cannot bind (108 bytes with its NUL) is named with what to shorten, before Node's bare
// EINVAL; `factory validate` warns of a brokered gh login whose job folders are too deep for one.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../controller/config/config.js';
import { socketPathProblem } from '../../controller/util/socket-path.js';

const config = (stateDir: string) => `
github: { auth: { tokenEnv: T }, webhook: { secret: { env: S } } }
stateDir: ${stateDir}
profiles:
  lane:
    trusted: true
    labels: [self-hosted, factory, lane]
    image: factory/base:0.1.0
    agentUser: "1001:1001"
    network: host
    auth: broker
    mounts: [{ kind: auth, agent: claude, source: /home/u/.claude }, { kind: gh, source: /home/u/.config/gh }]
repos: [{ repo: o/r, profiles: [lane] }]
loginCheck: {}
`;

describe('socket paths', () => {
  it('names the path, its length and what to shorten when Linux cannot bind it', () => {
    expect(socketPathProblem(`/${'a'.repeat(106)}`, 'stateDir')).toBeUndefined();
    expect(socketPathProblem(`/${'a'.repeat(107)}`, 'stateDir')).toContain(
      "is 108 bytes, over Linux's 107: shorten stateDir",
    );
  });

  it("warns at validate when a brokered gh login's socket could be too long for a long runner name", () => {
    const deep = parseConfig(config(`/srv/${'deep/'.repeat(6)}factory`));
    expect(deep.ok && deep.warnings?.map((w) => w.message)).toContainEqual(
      expect.stringContaining('brokers its gh login through a socket at stateDir/jobs/<runner name>/gh/1/gh.sock'),
    );
    const short = parseConfig(config('/var/lib/factory'));
    expect(short.ok && (short.warnings ?? []).map((w) => w.message).join('\n')).not.toContain('gh.sock');
  });
});
