// The caps a runner's slot counts against: the global one, its repo's, and each login's the profile mounts (a login
// used by one job at a time, whichever profile holds it). A warm runner's slot leaves the logins out: idle, it holds
// nothing of its login, which its release takes (lanes/credential-hold.ts), so it never keeps a job of that login,
// or a `factory lane run`, waiting.
import type { Config, Profile } from '../config/config.js';
import { credentialKeys } from '../lanes/lane-layout.js';
import type { Slot } from '../model/job.js';
import { findRepo } from './profile-match.js';

export function slotLimits(
  config: Config,
  repo: string,
  profile: Profile | undefined,
  opts: { warm?: boolean } = {},
): Slot['limits'] {
  const repoCap = findRepo(config, repo)?.maxConcurrent ?? 1;
  const limits = [
    { pool: 'global', max: config.maxConcurrent },
    { pool: `repo:${repo.toLowerCase()}`, max: repoCap },
  ];
  if (opts.warm) return limits;
  for (const key of profile ? credentialKeys(config, profile) : [])
    limits.push({ pool: `credential:${key}`, max: profile!.credentialConcurrency });
  return limits;
}
