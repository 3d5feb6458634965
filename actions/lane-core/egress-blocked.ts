// What the lane's egress gateway refused, for the check run and the job summary: the gateway (outside the job) keeps
// the list, the job can only add to it by trying, and the action asks for it after the agent ended, at the address
// the controller put in the container's environment (read before the agent started).
import { blockedText, parseGatewayRefusals, publicDestinations } from '../../lane-contract/egress-refusals.js';

/** The gateway answers on the job's own network at once; a job that floods it must not hold up the report. */
const TIMEOUT_MS = 5_000;

/**
 * The report's egress line: `blocked: pastebin.com:443 ×3`, `nothing blocked`, or why the list could not be read;
 * undefined when the lane has no egress gateway.
 */
export async function egressLine(
  url: string | undefined,
  get: (url: string, signal: AbortSignal) => Promise<{ ok: boolean; status: number; text(): Promise<string> }> = (
    u,
    signal,
  ) => fetch(u, { signal }),
): Promise<string | undefined> {
  if (!url) return undefined;
  try {
    const res = await get(url, AbortSignal.timeout(TIMEOUT_MS));
    if (!res.ok) return `the egress gateway's list could not be read (HTTP ${res.status})`;
    const list = parseGatewayRefusals((await res.text()).slice(0, 256 * 1024));
    if (!list) return "the egress gateway's list could not be read (not its answer)";
    return blockedText(publicDestinations(list.blocked), 10, list.more) || 'nothing blocked';
  } catch (err) {
    return `the egress gateway's list could not be read (${(err as Error).message})`;
  }
}
