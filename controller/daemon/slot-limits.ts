// The caps a runner's slot counts against: the global one, its repo's, and its credential's when the profile mounts
// one (a login used by one job at a time).
import type { Config, Profile } from '../config/config.js';
import { credentialKey } from '../lanes/lane-layout.js';
import type { Slot } from '../model/job.js';
import { findRepo } from './profile-match.js';

export function slotLimits(config: Config, repo: string, profile: Profile | undefined): Slot['limits'] {
  const repoCap = findRepo(config, repo)?.maxConcurrent ?? 1;
  const limits = [
    { pool: 'global', max: config.maxConcurrent },
    { pool: `repo:${repo.toLowerCase()}`, max: repoCap },
  ];
  const credential = profile && credentialKey(profile);
  if (credential) limits.push({ pool: `credential:${credential}`, max: profile.credentialConcurrency });
  return limits;
}
