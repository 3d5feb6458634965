// Which lane profiles run pull-request content, and what every lane profile should have. The shipped review
// workflows (agent-lane.yml in review mode, second-opinion.yml) ask for `[self-hosted, factory, review]`, so a trusted
// profile labelled `review` is where a pull request's diff, title and body reach an agent holding a login: a
// prompt-injected agent there must not run as the runner's user (docs/lane-isolation.md).
import type { Profile } from './config-schema.js';

/** The label the shipped review workflows and second-opinion ask for by default. */
export const REVIEW_LABEL = 'review';

/** A review-style profile: trusted, and one of its labels is `review` (GitHub compares labels case-insensitively). */
export const isReviewProfile = (p: Profile): boolean =>
  p.trusted && p.labels.some((l) => l.toLowerCase() === REVIEW_LABEL);
