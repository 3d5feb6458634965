// Which profile, if any, serves a queued job: pure, so the webhook path and the queued-job poll agree.
import type { Config, OrgConfig, Profile, RepoConfig } from '../config/config.js';
import { asksForProfile } from '../config/profile-labels.js';
import { servedRepo } from '../config/repo-patterns.js';

/** A repo the config serves: its own entry, or one an org entry covers (then `org` is set and its runners are the org's). */
export type ServedRepo = RepoConfig & { org?: OrgConfig };

export interface Match {
  repo: ServedRepo;
  profileName: string;
  profile: Profile;
}

/** Labels a runner of this profile carries. Every self-hosted runner carries `self-hosted`, so jobs may ask for it. */
export function runnerLabels(profile: Profile): string[] {
  const labels = profile.labels.filter((l) => l.toLowerCase() !== 'self-hosted');
  return ['self-hosted', ...labels];
}

/** The entry that serves `fullName`; `validate` refuses a repo both kinds serve, so at most one does. */
export function findRepo(config: Config, fullName: string): ServedRepo | undefined {
  return servedRepo(config, fullName);
}

/**
 * The first of the repo's profiles (in the order the admin listed them) whose labels provide every label of the job.
 * A trusted profile also needs the job to name one of its own labels (profile-labels.ts): `runs-on: [self-hosted]`
 * must never start a runner that carries a lane's credentials. GitHub compares labels case-insensitively, and so do we.
 */
export function matchProfile(config: Config, fullName: string, jobLabels: readonly string[]): Match | undefined {
  const repo = findRepo(config, fullName);
  if (!repo || jobLabels.length === 0) return undefined;
  for (const profileName of repo.profiles) {
    const profile = ownProfile(config, profileName);
    if (!profile) continue;
    const provided = new Set(runnerLabels(profile).map((l) => l.toLowerCase()));
    if (!jobLabels.every((l) => provided.has(l.toLowerCase()))) continue;
    if (asksForProfile(config.profiles, profile, jobLabels)) return { repo, profileName, profile };
  }
  return undefined;
}

/** A profile by name, own properties only: `constructor` or `__proto__` name no profile. */
export function ownProfile(config: Config, name: string): Profile | undefined {
  return Object.hasOwn(config.profiles, name) ? config.profiles[name] : undefined;
}

/** The repo and one of its profiles, by name; undefined when an edited config dropped either. */
export function findProfile(config: Config, fullName: string, profileName: string): Match | undefined {
  const repo = findRepo(config, fullName);
  const profile = ownProfile(config, profileName);
  return repo && profile && repo.profiles.includes(profileName) ? { repo, profileName, profile } : undefined;
}
