// The doctor's row for a brokered profile's gh login: the broker reads the host's hosts.yml token at each request, so
// a keyring-only login (no token in the file) is named with its fix before a job's gh calls all fail.
import { describe, expect, it } from 'vitest';
import { ghLoginRows } from '../../controller/commands/doctor-gh-login.js';
import { parseConfig, type Profile } from '../../controller/config/config.js';

const profile = (auth: string): Profile => {
  const r = parseConfig(`
github: { auth: { tokenEnv: T }, webhook: { secret: { env: S } } }
loginCheck: {}
profiles:
  lane:
    trusted: true
    labels: [self-hosted, factory, lane]
    image: factory/base:0.1.0
    agentUser: "1001:1001"
    network: host
    auth: ${auth}
    mounts: [{ kind: auth, agent: claude, source: /h/.claude }, { kind: gh, source: /h/gh }]
repos: [{ repo: o/r, profiles: [lane] }]
`);
  if (!r.ok) throw new Error(r.problems.join('\n'));
  return r.config.profiles.lane!;
};

describe("the doctor's brokered gh login row", () => {
  it('passes a login whose token is in hosts.yml', () => {
    expect(ghLoginRows(profile('broker'), () => 'github.com:\n  oauth_token: gho_x\n  user: u\n')).toEqual([
      { name: 'gh /h/gh on host (brokered)', ok: true, detail: 'github.com login of u in hosts.yml' },
    ]);
  });

  it('fails a keyring-only login, naming the fix', () => {
    const [row] = ghLoginRows(profile('broker'), () => 'github.com:\n  users:\n    u:\n  user: u\n');
    expect(row).toMatchObject({ ok: false, fix: expect.stringContaining('gh auth login --insecure-storage') });
  });

  it('says nothing of a copy profile, whose job gets the folder itself', () => {
    expect(ghLoginRows(profile('copy'), () => undefined)).toEqual([]);
  });
});
