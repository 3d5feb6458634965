// Profiles that hold one login. The credential lock is keyed by the login's auth source on the Docker host, not by the
// profile's `credential:` name, so such profiles take turns on it whatever they call it; validate says so, and
// refuses two places counts for one lock.
import type { Config } from './config-schema.js';
import type { ConfigWarning } from './config-problems.js';
import { hostView, type Refuse } from './trust-gate.js';

/** Each auth source (as the Docker host sees it) held by more than one profile, with those profiles in file order. */
export function sharedLogins(config: Config): Map<string, string[]> {
  const holders = new Map<string, string[]>();
  for (const [name, p] of Object.entries(config.profiles))
    for (const m of p.mounts) {
      if (m.kind !== 'auth') continue;
      const source = hostView(m.source, config.hostPathMap);
      const list = holders.get(source) ?? [];
      if (!list.includes(name)) list.push(name);
      holders.set(source, list);
    }
  return new Map([...holders].filter(([, names]) => names.length > 1));
}

/** One lock has one number of places: profiles sharing a login must agree on credentialConcurrency. */
export function refuseSplitConcurrency(config: Config, refuse: (profile: string, ...a: Parameters<Refuse>) => void) {
  for (const [source, names] of sharedLogins(config)) {
    const [first, ...rest] = names;
    const want = config.profiles[first!]!.credentialConcurrency;
    for (const name of rest) {
      const got = config.profiles[name]!.credentialConcurrency;
      if (got !== want)
        refuse(
          name,
          ['credentialConcurrency'],
          `profile "${name}" holds the login at ${source} with credentialConcurrency ${got}, profile "${first}" holds it with ${want}: one login is one lock with one number of places; give both the same`,
        );
    }
  }
}

/** Two `credential:` names for one login read as two locks; there is one. */
export function sharedLoginWarnings(config: Config): ConfigWarning[] {
  const out: ConfigWarning[] = [];
  for (const [source, names] of sharedLogins(config)) {
    const named = names.filter((n) => config.profiles[n]!.credential !== undefined);
    const distinct = new Set(named.map((n) => config.profiles[n]!.credential));
    if (distinct.size < 2) continue;
    const list = named.map((n) => `"${n}" (credential ${config.profiles[n]!.credential})`).join(', ');
    for (const name of named.slice(1))
      out.push({
        path: ['profiles', name, 'credential'],
        message: `profiles ${list} hold the same login (${source}) under different credential names: they share one lock, keyed by the login, so their jobs take turns on it; give them one name to say so`,
      });
  }
  return out;
}
