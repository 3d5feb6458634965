// What a job's egress gateway refused, as the controller's timeline and the lane's reports say it: "blocked:
// pastebin.test:443 ×3". The gateway serves its list to the job (FACTORY_EGRESS_REPORT); the action parses it here.

/** One destination a job's gateway refused: how often, and when first (ISO time, the gateway's clock). */
export interface BlockedDestination {
  host: string;
  port: number;
  count: number;
  first: string;
}

/** The one line a summary, check run or status table shows; empty when nothing was refused. */
export function blockedText(all: readonly BlockedDestination[], limit = 10, more = 0): string {
  if (all.length === 0) return '';
  const shown = all.slice(0, limit).map((d) => `${d.host}:${d.port}${d.count > 1 ? ` ×${d.count}` : ''}`);
  const rest = Math.max(0, all.length - limit) + more;
  return `blocked: ${shown.join(', ')}${rest > 0 ? ` and ${rest} more` : ''}`;
}

/** What the gateway serves: its destinations, most refused first, and the refusals beyond those it lists. */
export interface GatewayRefusals {
  blocked: BlockedDestination[];
  more: number;
}

/** The gateway's answer, checked field by field (it crossed the job's network); undefined when it is not one. */
export function parseGatewayRefusals(text: string): GatewayRefusals | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  const o = v as { blocked?: unknown; more?: unknown };
  if (typeof o !== 'object' || o === null || !Array.isArray(o.blocked)) return undefined;
  const blocked: BlockedDestination[] = [];
  for (const d of o.blocked as Array<Record<string, unknown>>) {
    if (typeof d?.host !== 'string' || typeof d.port !== 'number' || typeof d.count !== 'number') return undefined;
    blocked.push({ host: d.host.slice(0, 255), port: d.port, count: d.count, first: String(d.first ?? '') });
  }
  return { blocked, more: typeof o.more === 'number' ? o.more : 0 };
}

/**
 * A refused name as a public report shows it: a name the job asked for can carry what it tried to leak (a DNS tunnel
 * spells data into its labels), so a name with a long label or more than three labels is shown as its last two
 * (`*.evil.test`), and the counts of the names folded together are added up.
 */
export function publicDestinations(all: readonly BlockedDestination[]): BlockedDestination[] {
  const byKey = new Map<string, BlockedDestination>();
  for (const d of all) {
    const labels = d.host.split('.');
    const host =
      labels.length > 3 || labels.some((l) => l.length > 24) ? `*.${labels.slice(-2).join('.').slice(-48)}` : d.host;
    const key = `${host}:${d.port}`;
    const seen = byKey.get(key);
    if (seen) seen.count += d.count;
    else byKey.set(key, { ...d, host });
  }
  return [...byKey.values()].sort((a, b) => b.count - a.count);
}
