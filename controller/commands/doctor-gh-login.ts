// A brokered profile's gh login is read by the controller off the host's hosts.yml at each request of a job
// (broker/gh-broker.ts): a login gh keeps in the system keyring leaves no token there, and every gh call of every job
// would fail. The doctor says so before a job does, with the step on the host that fixes it.
import { brokerFallback } from '../config/broker-gate.js';
import type { Profile } from '../config/config.js';
import { hostGhToken } from '../lanes/gh-login.js';
import type { CheckResult } from './doctor-script.js';

/** One row per gh mount of a brokered profile; none for a copy profile, whose container check reads the copy. */
export function ghLoginRows(profile: Profile, hostsYml: (source: string) => string | undefined): CheckResult[] {
  if (profile.auth !== 'broker' || brokerFallback(profile)) return [];
  return profile.mounts.flatMap((m): CheckResult[] => {
    if (m.kind !== 'gh') return [];
    const login = hostGhToken(hostsYml(m.source));
    const name = `gh ${m.source} on host (brokered)`;
    if ('error' in login)
      return [
        { name, ok: false, detail: login.error, fix: `on the host, as the user who owns ${m.source}: ${login.error}` },
      ];
    return [{ name, ok: true, detail: `github.com login${login.user ? ` of ${login.user}` : ''} in hosts.yml` }];
  });
}
