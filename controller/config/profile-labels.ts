// Which labels mark a job as asking for a trusted (lane) profile. GitHub hands a queued job to any runner whose
// labels cover it, and every runner carries `self-hosted`, so only a label no untrusted profile has can say "this
// job wants the lane" rather than "any runner will do".
import type { Config, Profile } from './config-schema.js';

const key = (label: string) => label.toLowerCase();

/** Labels of every untrusted profile in the config, lower-cased, `self-hosted` included (every runner has it). */
function untrustedLabels(profiles: Config['profiles']): Set<string> {
  const out = new Set(['self-hosted']);
  for (const p of Object.values(profiles)) if (!p.trusted) p.labels.forEach((l) => out.add(key(l)));
  return out;
}

/** The labels of a trusted profile that no untrusted profile has (lower-cased); empty for an untrusted profile. */
export function distinguishingLabels(profiles: Config['profiles'], profile: Profile): string[] {
  if (!profile.trusted) return [];
  const common = untrustedLabels(profiles);
  return [...new Set(profile.labels.map(key))].filter((l) => !common.has(l));
}

/** A trusted profile serves a job only when the job names one of its distinguishing labels. */
export function asksForProfile(profiles: Config['profiles'], profile: Profile, jobLabels: readonly string[]): boolean {
  if (!profile.trusted) return true;
  const own = new Set(distinguishingLabels(profiles, profile));
  return jobLabels.some((l) => own.has(key(l)));
}
