// A job's egress, planned: the internal network the job alone sits on, the gateway container that is its one way out,
// and what the job's container gets (that network, the gateway as its resolver, the proxy variables). Pure:
// egress-gateway.ts carries it out. docs/lanes.md#egress says what each choice closes.
import type Docker from 'dockerode';
import type { Profile } from '../config/config.js';
import type { ContainerSpec } from '../docker/container-spec.js';
import { LABEL, type RunnerIdentity } from '../model/runner.js';
import { BROKER_PORT, PROXY_PORT, REFUSALS_PATH, type EgressPolicy } from '../gateway/egress-policy.js';
import { LANE_VARIABLES } from '../../lane-contract/lane-variables.js';

/** On the job's internal network and its gateway: the runner they serve. Never on anything else. */
export const EGRESS_LABEL = 'factory.egress';
/** On the gateway: the job's profile, for the refusal metric once the runner record may be gone. */
export const EGRESS_PROFILE_LABEL = 'factory.egress-profile';
/** On the gateway: the loopback ports it relays, so a restarted controller serves their sockets again. */
export const EGRESS_LOOPBACK_LABEL = 'factory.egress-loopback';

/** Where the gateway finds its program and the controller's relay sockets. */
export const PROGRAM_IN_GATEWAY = '/factory-gateway';
export const RELAY_IN_GATEWAY = '/factory-relay';
/** nobody: the gateway needs no user of its own, no capability and no writable file. */
const GATEWAY_USER = '65534:65534';

export interface EgressPlan {
  runnerName: string;
  instance: string;
  profileName: string;
  /** The internal network (no route out) the job joins; its gateway has the same name with -gateway. */
  network: string;
  gateway: string;
  /** Where the gateway goes out: the profile's `network` (bridge or a network of the operator's). */
  upstream: string;
  /** The gateway's image: the job's own (on the engine already; factory/base and images built on it have node). */
  image: string;
  policy: EgressPolicy;
  /**
   * The host port of the job's model broker, which the gateway serves at BROKER_PORT. Kept out of the policy: the
   * policy is what a spare gateway must share with its job, and every job's broker has a port of its own.
   */
  broker?: number;
}

export const egressNetworkName = (runnerName: string) => `${runnerName}-egress`;
export const gatewayName = (runnerName: string) => `${runnerName}-gateway`;

export function egressPlan(identity: RunnerIdentity, profile: Profile): EgressPlan | undefined {
  const e = profile.egress;
  if (e === undefined) return undefined;
  return {
    runnerName: identity.runnerName,
    instance: identity.instance,
    profileName: identity.profileName,
    network: egressNetworkName(identity.runnerName),
    gateway: gatewayName(identity.runnerName),
    upstream: profile.network,
    image: profile.image,
    policy: { allow: e.allow, loopback: e.loopback },
  };
}

/** A brokered job's plan: its gateway relays BROKER_PORT to the job's broker at `port` on the controller's loopback. */
export function withBrokerRelay(plan: EgressPlan, port: number): EgressPlan {
  return { ...plan, policy: { ...plan.policy, loopback: [...plan.policy.loopback, BROKER_PORT] }, broker: port };
}

/** Where a brokered job behind `lease` reaches its broker. */
export const brokerUrl = (lease: EgressLease) => `http://${lease.address}:${BROKER_PORT}`;

const labels = (plan: EgressPlan) => ({ [EGRESS_LABEL]: plan.runnerName, [LABEL.instance]: plan.instance });

/**
 * Internal: Docker gives it no route out and no NAT. inhibit_ipv4: the host's end of the bridge gets no address,
 * which an internal network otherwise still has, and through which the job would reach every host service bound to
 * 0.0.0.0 (checked by the bypass suite). No IPv6.
 */
export function networkSpec(plan: EgressPlan): Docker.NetworkCreateOptions {
  return {
    Name: plan.network,
    Driver: 'bridge',
    Internal: true,
    EnableIPv6: false,
    CheckDuplicate: true,
    Options: { 'com.docker.network.bridge.inhibit_ipv4': 'true' },
    Labels: labels(plan),
  };
}

export interface GatewayOptions {
  /** The lane network's subnet, as Docker gave it: the gateway serves on its own address there. */
  subnet: string;
  /** The Docker host's paths of the program folder and the relay socket folder. */
  programDir: string;
  relayDir: string;
  /** Resolvers the gateway itself asks for allowed names; unset, the engine's. */
  upstreamDns?: string[];
}

/**
 * The gateway: created on the lane network, then connected to its upstream. It forwards nothing at the IP layer
 * (ip_forward 0, so a job that routes through it reaches nobody), binds low ports as nobody through the namespace's
 * unprivileged-port sysctl instead of a capability, and writes nothing.
 */
export function gatewayContainerSpec(plan: EgressPlan, opts: GatewayOptions): Docker.ContainerCreateOptions {
  return {
    name: plan.gateway,
    Image: plan.image,
    User: GATEWAY_USER,
    Entrypoint: ['node'],
    Cmd: [`${PROGRAM_IN_GATEWAY}/gateway-main.js`],
    Env: [`FACTORY_EGRESS=${JSON.stringify({ policy: plan.policy, subnet: opts.subnet, relayDir: RELAY_IN_GATEWAY })}`],
    WorkingDir: '/',
    Labels: {
      ...labels(plan),
      [EGRESS_PROFILE_LABEL]: plan.profileName,
      [EGRESS_LOOPBACK_LABEL]: plan.policy.loopback.join(','),
    },
    HostConfig: {
      NetworkMode: plan.network,
      ...(opts.upstreamDns ? { Dns: opts.upstreamDns } : {}),
      Sysctls: {
        'net.ipv4.ip_forward': '0',
        'net.ipv4.ip_unprivileged_port_start': '0',
        'net.ipv6.conf.all.disable_ipv6': '1',
      },
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      ReadonlyRootfs: true,
      Init: true,
      Memory: 256 * 1024 ** 2,
      PidsLimit: 128,
      NanoCpus: 0.5e9,
      Mounts: [
        { Type: 'bind', Source: opts.programDir, Target: PROGRAM_IN_GATEWAY, ReadOnly: true },
        { Type: 'bind', Source: opts.relayDir, Target: RELAY_IN_GATEWAY, ReadOnly: true },
      ],
      LogConfig: { Type: 'json-file', Config: { 'max-size': '5m', 'max-file': '2' } },
    },
  };
}

/** What a started gateway gives the job: its network, the gateway's address there, the ports it relays. */
export interface EgressLease {
  network: string;
  address: string;
  loopback: number[];
}

/**
 * A value that names a relayed loopback service (`http://127.0.0.1:3100`, `localhost:3100`) names the gateway's
 * address instead, so the one variable that points a lane at a host service keeps working behind the gateway.
 */
export function relayedValue(value: string, lease: EgressLease): string {
  return value.replace(/\b(?:127\.0\.0\.1|localhost):(\d+)\b/g, (whole, port: string) =>
    lease.loopback.includes(Number(port)) ? `${lease.address}:${port}` : whole,
  );
}

const PROXY_VARIABLES = [
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'http_proxy',
  'https_proxy',
  'NO_PROXY',
  'no_proxy',
  LANE_VARIABLES.egressReport,
];

/** The proxy variables a job behind `lease` gets: every tool that honours them asks the gateway by name. */
export function proxyEnv(lease: EgressLease): Record<string, string> {
  const proxy = `http://${lease.address}:${PROXY_PORT}`;
  const direct = `${lease.address},localhost,127.0.0.1`;
  return {
    HTTP_PROXY: proxy,
    HTTPS_PROXY: proxy,
    http_proxy: proxy,
    https_proxy: proxy,
    NO_PROXY: direct,
    no_proxy: direct,
  };
}

/**
 * The job's container behind its gateway: the internal network alone, the gateway as its resolver (Docker's
 * embedded resolver then forwards only there, never to the host's resolvers), no IPv6, the proxy variables.
 */
export function withEgress(
  spec: ContainerSpec,
  lease: EgressLease,
): ContainerSpec & { HostConfig: { Dns: string[]; Sysctls: Record<string, string> } } {
  const env = proxyEnv(lease);
  return {
    ...spec,
    Env: [
      ...spec.Env.filter((e) => !PROXY_VARIABLES.includes(e.slice(0, e.indexOf('=')))).map((e) =>
        relayedValue(e, lease),
      ),
      ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
      // Where the lane's action reads what the gateway refused, for its check run and summary.
      `${LANE_VARIABLES.egressReport}=http://${lease.address}:${PROXY_PORT}${REFUSALS_PATH}`,
    ],
    HostConfig: {
      ...spec.HostConfig,
      NetworkMode: lease.network,
      Dns: [lease.address],
      Sysctls: { 'net.ipv6.conf.all.disable_ipv6': '1' },
    },
  };
}
