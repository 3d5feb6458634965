// Whether a profile's logins can be brokered, decided from the profile alone: `factory validate` warns with the same
// reason the launch falls back on.
import type { Profile } from './config-schema.js';

/**
 * Why a profile with `auth: broker` gets a copy of its logins instead, or undefined when its jobs can be brokered.
 * The broker listens on the controller host's loopback: a job reaches it on host networking, or through its egress
 * gateway's relay; on any other network it could not, and the job would have no model at all.
 */
export function brokerFallback(profile: Profile): string | undefined {
  if (profile.auth !== 'broker') return 'auth is copy';
  if (!profile.mounts.some((m) => m.kind === 'auth')) return 'the profile carries no login';
  if (profile.network !== 'host' && !profile.egress)
    return `network ${profile.network} without egress cannot reach the broker on the controller's loopback; use network: host or egress`;
  return undefined;
}
