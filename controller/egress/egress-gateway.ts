// A job's egress carried out on the host's engine: its internal network, the relays of its host services and its
// gateway, made before the job's container and removed with it; swept when its runner is gone (a launch cut short, a
// controller that died mid-cleanup). Everything it makes carries one key in one label: the runner's name, or a spare's
// (spare-gateways.ts) that a job later claims by renaming the gateway after its runner. So the gateway's name says
// whose it is and its label which network and relays go with it, both read back from Docker after a restart.
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { BROKER_PORT } from '../gateway/egress-policy.js';
import { LABEL } from '../model/runner.js';
import { demux, isDockerDown } from '../docker/docker-engine.js';
import {
  EGRESS_LABEL,
  EGRESS_LOOPBACK_LABEL,
  EGRESS_PROFILE_LABEL,
  gatewayContainerSpec,
  gatewayName,
  networkSpec,
} from './egress-plan.js';
import type { EgressLease, EgressPlan } from './egress-plan.js';
import { writeGatewayProgram } from './gateway-program.js';
import { serveRelays, type Relays } from './loopback-relay.js';

/** A connection the gateway refused: what the job asked for, and when. */
export interface Refusal {
  kind: string;
  host: string;
  port: number;
  reason: string;
  time: string;
  /** The job's profile (from the gateway's label). */
  profile: string;
}

export interface EgressGateways {
  /** The network, relays and gateway; resolves once the gateway serves. On any failure nothing of it is left. */
  create(plan: EgressPlan): Promise<EgressLease>;
  /** What the runner's gateway refused so far (read from its output; empty once it is removed). */
  refusals(runnerName: string): Promise<Refusal[]>;
  /** Removes the runner's gateway, network and relays; what is already gone counts as removed. */
  remove(runnerName: string): Promise<void>;
  /**
   * Removes every gateway and network of this instance whose runner `keep` does not know; returns their runners. The
   * relays of the ones kept are served again when this process does not serve them (a controller restarted).
   */
  sweep(keep: (runnerName: string) => boolean): Promise<string[]>;
  /**
   * Relays the runner's gateway's broker port to `port`, the job's broker started again by a restarted controller
   * (daemon/broker-restore.ts); the sweep serves the gateway's other relays again, before or after.
   */
  relayBroker?(runnerName: string, port: number): Promise<void>;
  /** Gives the gateway made for `spare` (a plan of its own) to `plan`'s runner: renamed after it, serving as it was. */
  claim?(spare: string, plan: EgressPlan): Promise<void>;
  /** Removes what this process keeps ready for later jobs (spare-gateways.ts); jobs' gateways stay for adoption. */
  close?(): Promise<void>;
  /**
   * The runner's launch is over (its container started, or the launch failed): background work on the engine (the
   * next spare) waits for this, since Docker serialises network changes and would hold up the job's start.
   */
  launched?(runnerName: string): void;
}

export interface EgressOptions {
  instance: string;
  /** The controller's folder for per-job gateway files (its program, the relay sockets): `stateDir/egress`. */
  dir: string;
  /** The Docker host's view of a controller path (hostPathMap). */
  hostPath?: (path: string) => string;
  /** Resolvers the gateways ask for allowed names; unset, the engine's. */
  upstreamDns?: string[];
  /** Where a relayed port's connections go; unset, this host's 127.0.0.1 on that port. */
  relayTarget?: (port: number) => Socket;
  readyTimeoutMs?: number;
}

const statusOf = (err: unknown) => (err as { statusCode?: number })?.statusCode;
const gone = (err: unknown) => statusOf(err) === 404;
// A unix socket's path is at most 107 bytes: a runner's name (up to ~140) would not fit, its hash does.
const folderOf = (dir: string, runnerName: string) =>
  join(dir, createHash('sha256').update(runnerName).digest('hex').slice(0, 16));

export function egressGateways(docker: Docker, opts: EgressOptions): EgressGateways {
  const relays = new Map<string, Relays>();
  /**
   * The broker relays a restarted controller served (relayBroker), kept apart: the sweep serves a kept gateway's other
   * relays again while this process serves none of them, whatever became of its broker's.
   */
  const brokerRelays = new Map<string, Relays>();
  const ours = (extra: string[] = []) => JSON.stringify({ label: [`${LABEL.instance}=${opts.instance}`, ...extra] });
  const hostPath = opts.hostPath ?? ((p: string) => p);

  /** The key the runner's gateway, network and relays carry: its own name, or the spare's it claimed. */
  async function keyOf(runnerName: string): Promise<string> {
    const info = await docker
      .getContainer(gatewayName(runnerName))
      .inspect()
      .catch((err) => (gone(err) ? undefined : Promise.reject(err)));
    return info?.Config.Labels?.[EGRESS_LABEL] ?? runnerName;
  }

  const remove = async (runnerName: string) => removeKey(await keyOf(runnerName));

  async function removeKey(key: string): Promise<void> {
    const containers = await docker.listContainers({ all: true, filters: ours([`${EGRESS_LABEL}=${key}`]) });
    for (const c of containers)
      await docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch((err) => (gone(err) ? undefined : Promise.reject(err)));
    const networks = await docker.listNetworks({ filters: ours([`${EGRESS_LABEL}=${key}`]) });
    for (const n of networks)
      await docker
        .getNetwork(n.Id)
        .remove()
        .catch((err) => (gone(err) ? undefined : Promise.reject(err)));
    for (const served of [relays, brokerRelays]) {
      await served.get(key)?.close();
      served.delete(key);
    }
    await rm(folderOf(opts.dir, key), { recursive: true, force: true });
  }

  /**
   * The relays of `key`'s gateway, served into the folder its gateway has mounted (made or kept as it is), beside
   * those it serves already. BROKER_PORT goes to the job's broker, and nowhere while the gateway has none (a spare, or
   * a job adopted after a restart until its broker is started again): never to whatever listens on the host's own port
   * of that number.
   */
  async function relay(key: string, ports: readonly number[], broker?: number, into = relays): Promise<void> {
    const to = (port: number) => (opts.relayTarget ? { connect: () => opts.relayTarget!(port) } : {});
    const services = [
      ...ports.filter((p) => p !== BROKER_PORT).map((port) => ({ port, ...to(port) })),
      ...(broker === undefined
        ? []
        : [
            {
              port: BROKER_PORT,
              connect: () => opts.relayTarget?.(broker) ?? connect({ host: '127.0.0.1', port: broker }),
            },
          ]),
    ];
    const served = await serveRelays(join(folderOf(opts.dir, key), 'relay'), services);
    const before = into.get(key);
    into.set(key, before ? { close: () => served.close().then(() => before.close()) } : served);
  }

  async function create(plan: EgressPlan): Promise<EgressLease> {
    const folder = folderOf(opts.dir, plan.runnerName);
    try {
      await writeGatewayProgram(join(folder, 'program'));
      await relay(plan.runnerName, plan.policy.loopback, plan.broker);
      const network = await docker.createNetwork(networkSpec(plan));
      const info = (await network.inspect()) as { IPAM?: { Config?: Array<{ Subnet?: string }> } };
      const subnet = info.IPAM?.Config?.find((c) => c.Subnet?.includes('.'))?.Subnet;
      if (!subnet) throw new Error(`network ${plan.network} has no IPv4 subnet`);
      const container = await docker.createContainer(
        gatewayContainerSpec(plan, {
          subnet,
          programDir: hostPath(join(folder, 'program')),
          relayDir: hostPath(join(folder, 'relay')),
          ...(opts.upstreamDns ? { upstreamDns: opts.upstreamDns } : {}),
        }),
      );
      await docker.getNetwork(plan.upstream).connect({ Container: container.id });
      await container.start();
      const address = await untilReady(container, opts.readyTimeoutMs ?? 30_000);
      return { network: plan.network, address, loopback: plan.policy.loopback };
    } catch (err) {
      if (isDockerDown(err)) throw err; // the reconciler's sweep removes what was made once Docker answers
      await remove(plan.runnerName).catch(() => {});
      throw new Error(`egress gateway ${plan.gateway} did not start: ${(err as Error).message}`);
    }
  }

  async function refusals(runnerName: string): Promise<Refusal[]> {
    const gateway = docker.getContainer(gatewayName(runnerName));
    const info = await gateway.inspect().catch((err) => (gone(err) ? undefined : Promise.reject(err)));
    if (!info) return [];
    const profile = info.Config.Labels?.[EGRESS_PROFILE_LABEL] ?? '';
    const out = await gateway
      .logs({ stdout: true, stderr: false, follow: false })
      .catch((err) => (gone(err) ? Buffer.alloc(0) : Promise.reject(err)));
    return demux(out as Buffer)
      .split('\n')
      .flatMap((line) => {
        try {
          const e = JSON.parse(line) as Refusal & { event?: string };
          return e.event === 'refused'
            ? [{ kind: e.kind, host: e.host, port: e.port, reason: e.reason, time: e.time, profile }]
            : [];
        } catch {
          return [];
        }
      });
  }

  async function sweep(keep: (runnerName: string) => boolean): Promise<string[]> {
    const [containers, networks] = await Promise.all([
      docker.listContainers({ all: true, filters: ours([EGRESS_LABEL]) }),
      docker.listNetworks({ filters: ours([EGRESS_LABEL]) }),
    ]);
    // A key is kept when its own name is (a gateway made for its runner, or a network whose gateway is gone) or when
    // its gateway is named after a runner that is (a claimed spare).
    const runnerOf = new Map<string, string>();
    const loopbackOf = new Map<string, number[]>();
    for (const c of containers) {
      const key = c.Labels[EGRESS_LABEL] ?? '';
      const name = (c.Names[0] ?? '').replace(/^\//, '').replace(/-gateway$/, '');
      if (name !== '') runnerOf.set(key, name);
      const ports = c.Labels[EGRESS_LOOPBACK_LABEL];
      loopbackOf.set(key, ports ? ports.split(',').map(Number) : []);
    }
    const keys = new Set([
      ...runnerOf.keys(),
      ...networks.map((n) => n.Labels?.[EGRESS_LABEL] ?? ''),
      ...relays.keys(),
      ...brokerRelays.keys(),
    ]);
    const kept = (key: string) => keep(key) || (runnerOf.has(key) && keep(runnerOf.get(key)!));
    const orphans = [...keys].filter((k) => k !== '' && !kept(k));
    for (const key of orphans) await removeKey(key);
    for (const key of keys)
      if (key !== '' && kept(key) && !relays.has(key) && (loopbackOf.get(key)?.length ?? 0) > 0)
        // One that cannot be served (its folder gone with a changed stateDir) leaves that job's services dark, not
        // the sweep undone.
        await relay(key, loopbackOf.get(key)!).catch(() => {});
    return orphans.map((k) => runnerOf.get(k) ?? k);
  }

  async function claim(spare: string, plan: EgressPlan): Promise<void> {
    // By id: once renamed, the spare's name finds nothing.
    const info = await docker.getContainer(gatewayName(spare)).inspect();
    if (!info.State.Running) throw new Error(`spare gateway ${gatewayName(spare)} is not running`);
    await docker.getContainer(info.Id).rename({ name: plan.gateway });
    // The spare was made before this job's broker: its relay is served now, into the spare's folder.
    if (plan.broker !== undefined) await relay(spare, [], plan.broker);
  }

  async function relayBroker(runnerName: string, port: number): Promise<void> {
    const info = await docker
      .getContainer(gatewayName(runnerName))
      .inspect()
      .catch((err) => (gone(err) ? undefined : Promise.reject(err)));
    if (!info?.State.Running) throw new Error(`egress gateway ${gatewayName(runnerName)} is not running`);
    await relay(info.Config.Labels?.[EGRESS_LABEL] ?? runnerName, [], port, brokerRelays);
  }

  return { create, refusals, remove, sweep, claim, relayBroker };
}

/** Follows the gateway's output until it says it serves; returns its address there. Its exit is an error. */
async function untilReady(container: Docker.Container, timeoutMs: number): Promise<string> {
  const stream = (await container.logs({ follow: true, stdout: true, stderr: true })) as NodeJS.ReadableStream & {
    destroy(): void;
  };
  let raw = Buffer.alloc(0);
  try {
    return await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not serving within ${timeoutMs} ms`)), timeoutMs);
      const done = (err: Error | undefined, address?: string) => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(address!);
      };
      stream.on('data', (chunk: Buffer) => {
        raw = Buffer.concat([raw, chunk]);
        const ready = /\{"event":"ready","address":"([\d.]+)"\}/.exec(demux(raw));
        if (ready) done(undefined, ready[1]);
      });
      stream.on('error', (err: Error) => done(err));
      stream.on('end', () => done(new Error(`it exited: ${demux(raw).trim().split('\n').slice(-3).join(' | ')}`)));
    });
  } finally {
    stream.destroy();
  }
}
