// `factory lane run`'s model broker for a brokered profile: the controller's own code (JobBrokers: the same broker,
// model list, brokered MCP servers and host-side refresher) run in this process for this one run, since a lane run
// has no controller to lean on. Its refresher takes the lock on the host file the controller's takes, so a lane run
// beside a running controller on one login never redeems a refresh token twice. It closes with the run.
import type { Config, Profile } from '../config/config.js';
import { brokerFallback } from '../config/broker-gate.js';
import type { ContainerSpec } from '../docker/container-spec.js';
import { JobBrokers } from '../broker/job-brokers.js';

export interface LaneRunBroker {
  /** The broker's port on this host's loopback: what the run's gateway relays, or what host networking reaches. */
  port: number;
  /**
   * Records the placeholder and where the run reaches the broker (`url`: its gateway's broker port behind egress;
   * unset, the loopback port) for the release, and writes that address into the run's brokered MCP entries.
   */
  grant(url: string | undefined): Promise<void>;
  /** The run's container with the broker's address in its environment (claude asks before it reads its settings). */
  withBroker<S extends ContainerSpec>(spec: S, url: string | undefined): S;
  /** Closed, its placeholder opens nothing. */
  close(): Promise<void>;
}

/** Whether a run of `profile` is brokered; `fallback` says why an `auth: broker` profile gets a copy instead. */
export function laneRunAuth(profile: Profile): { brokered: boolean; fallback?: string } {
  if (profile.auth !== 'broker') return { brokered: false };
  const fallback = brokerFallback(profile);
  return fallback ? { brokered: false, fallback } : { brokered: true };
}

/** Starts the run's broker, before its gateway (which relays to it) and its release (whose placeholders name it). */
export async function startLaneRunBroker(config: Config, profile: Profile, name: string): Promise<LaneRunBroker> {
  const brokers = new JobBrokers(() => config);
  const { port } = await brokers.start(profile, name);
  return {
    port,
    grant: (url) => brokers.grant(name, url),
    withBroker: (spec, url) => brokers.withBroker(spec, name, profile, url),
    close: () => brokers.closeAll(),
  };
}
