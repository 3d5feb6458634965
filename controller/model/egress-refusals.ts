// What a job's egress gateway refused, counted per destination: kept in the job's timeline and said the way a
// workflow author reads it, "blocked: pastebin.test:443 ×3" (the wording the lane's reports share).
import type { BlockedDestination } from '../../lane-contract/egress-refusals.js';

export { blockedText, type BlockedDestination } from '../../lane-contract/egress-refusals.js';

/** A job's refusals as its runner's teardown found them. */
export interface EgressRefusals {
  runnerName: string;
  /** Most refused first. */
  blocked: BlockedDestination[];
  /** How many more destinations were refused than `blocked` lists. */
  more?: number;
  at: number;
}
