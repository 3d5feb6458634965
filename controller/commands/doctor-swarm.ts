// The swarm part of `factory doctor`: the nodes and their labels, and for each profile the nodes its placement admits.
import type { Config } from '../config/config.js';
import { nodeName, nodesFor, type SwarmNode } from '../docker/swarm-placement.js';
import type { CheckResult } from './doctor-script.js';

export interface DoctorRowShape extends CheckResult {
  scope: string;
}

export function swarmRows(config: Config, nodes: SwarmNode[], onlyProfile?: string): DoctorRowShape[] {
  const rows: DoctorRowShape[] = nodes.map((n) => {
    const labels =
      Object.entries(n.Spec?.Labels ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(', ') || 'no labels';
    const usable = n.Status?.State === 'ready' && n.Spec?.Availability === 'active';
    return {
      scope: 'swarm',
      name: `node ${nodeName(n)}`,
      ok: usable,
      detail: `${n.Spec?.Role ?? '?'}, ${n.Status?.State ?? '?'}, ${n.Spec?.Availability ?? '?'}; ${labels}`,
      ...(usable
        ? {}
        : {
            fix: 'a down or drained node takes no jobs: bring it back (docker node update --availability active) or remove it',
          }),
    };
  });
  for (const [name, profile] of Object.entries(config.profiles)) {
    if (onlyProfile && name !== onlyProfile) continue;
    const fits = nodesFor(profile.placement, nodes);
    const where = profile.placement.length > 0 ? `placement ${profile.placement.join(' and ')}` : 'no placement';
    rows.push({
      scope: name,
      name: 'swarm placement',
      ok: fits.length > 0,
      detail:
        fits.length > 0 ? `${where}: can run on ${fits.map(nodeName).join(', ')}` : `${where}: no ready node fits`,
      ...(fits.length > 0
        ? {}
        : {
            fix: "label a node to match (docker node update --label-add KEY=VALUE NODE) or change the profile's placement",
          }),
    });
  }
  return rows;
}
