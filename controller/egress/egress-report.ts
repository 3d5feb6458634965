// What a job's gateway refused, said the way a workflow author reads it: "blocked: pastebin.test:443 ×3".
import type { Refusal } from './egress-gateway.js';

export interface BlockedDestination {
  host: string;
  port: number;
  count: number;
  first: string;
}

/** One entry per host:port, most refused first; a DNS refusal counts under the name with port 53. */
export function blockedDestinations(refusals: readonly Refusal[]): BlockedDestination[] {
  const byKey = new Map<string, BlockedDestination>();
  for (const r of refusals) {
    const key = `${r.host}:${r.port}`;
    const seen = byKey.get(key);
    if (seen) seen.count += 1;
    else byKey.set(key, { host: r.host || '(no host)', port: r.port, count: 1, first: r.time });
  }
  return [...byKey.values()].sort((a, b) => b.count - a.count || a.first.localeCompare(b.first));
}

/** The one line a summary or check run shows; empty when nothing was refused. At most `limit` destinations. */
export function blockedLine(refusals: readonly Refusal[], limit = 10): string {
  const all = blockedDestinations(refusals);
  if (all.length === 0) return '';
  const shown = all.slice(0, limit).map((d) => `${d.host}:${d.port}${d.count > 1 ? ` ×${d.count}` : ''}`);
  return `blocked: ${shown.join(', ')}${all.length > limit ? ` and ${all.length - limit} more` : ''}`;
}
