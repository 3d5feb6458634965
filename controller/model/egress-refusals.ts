// What a job's egress gateway refused, counted per destination: kept in the job's timeline and said the way a
// workflow author reads it, "blocked: pastebin.test:443 ×3".

/** One destination a job's gateway refused: how often, and when first (ISO time, the gateway's clock). */
export interface BlockedDestination {
  host: string;
  port: number;
  count: number;
  first: string;
}

/** A job's refusals as its runner's teardown found them. */
export interface EgressRefusals {
  runnerName: string;
  /** Most refused first. */
  blocked: BlockedDestination[];
  /** How many more destinations were refused than `blocked` lists. */
  more?: number;
  at: number;
}

/** The one line a summary, check run or status table shows; empty when nothing was refused. */
export function blockedText(all: readonly BlockedDestination[], limit = 10, more = 0): string {
  if (all.length === 0) return '';
  const shown = all.slice(0, limit).map((d) => `${d.host}:${d.port}${d.count > 1 ? ` ×${d.count}` : ''}`);
  const rest = Math.max(0, all.length - limit) + more;
  return `blocked: ${shown.join(', ')}${rest > 0 ? ` and ${rest} more` : ''}`;
}
