// Which lane profiles run pull-request content, and what every lane profile should have. The shipped review
// workflows (agent-lane.yml in review mode, second-opinion.yml) ask for `[self-hosted, factory, review]`, so a trusted
// profile labelled `review` is where a pull request's diff, title and body reach an agent holding a login: a
// prompt-injected agent there must not run as the runner's user (docs/lane-isolation.md).
import type { Config, Profile } from './config-schema.js';

/** The label the shipped review workflows and second-opinion ask for by default. */
export const REVIEW_LABEL = 'review';

/** A review-style profile: trusted, and one of its labels is `review` (GitHub compares labels case-insensitively). */
export const isReviewProfile = (p: Profile): boolean =>
  p.trusted && p.labels.some((l) => l.toLowerCase() === REVIEW_LABEL);

export interface ConfigWarning {
  path: PropertyKey[];
  message: string;
}

/** What `factory validate` says of a valid config without refusing it. */
export function configWarnings(config: Config): ConfigWarning[] {
  const out: ConfigWarning[] = [];
  for (const [name, p] of Object.entries(config.profiles)) {
    if (p.trusted && !p.agentUser)
      out.push({
        path: ['profiles', name],
        message: `lane profile "${name}" has no agentUser: its agent runs as the runner's user and can read the action's token from /proc and write the runner's command files; set agentUser (factory/base: "1001:1001", docs/lane-isolation.md)`,
      });
  }
  return out;
}
