// One gateway kept serving per egress setup (profile, policy, image, upstream), so a job's pickup does not wait for a
// gateway's container to start (about a second of the whole pickup): a job claims the spare, which is renamed after
// its runner, and the next spare starts once the job's container has. A spare has its own internal network and
// nothing on it, so it sees no traffic before its job joins; one left unclaimed for `idleMs` is removed, as is every
// spare at close. A restarted controller sweeps the spares of the one before (no runner it knows has their names).
import { randomBytes } from 'node:crypto';
import { isDockerDown } from '../docker/docker-engine.js';
import type { EgressGateways } from './egress-gateway.js';
import { egressNetworkName, gatewayName, type EgressLease, type EgressPlan } from './egress-plan.js';

export interface SpareOptions {
  /** A spare nobody claimed for this long is removed (the profile may be gone, or its jobs rare). */
  idleMs?: number;
}

/** A launch that never says it is over (a bug, a crash) still gets the next spare after this. */
const LAUNCH_GRACE_MS = 30_000;

interface Spare {
  name: string;
  lease: Promise<EgressLease>;
  timer: NodeJS.Timeout;
}

/**
 * What a spare must share with a job to serve it: everything of the plan but the runner's names and its broker (the
 * policy names only the gateway's broker port, the same for every brokered job; the claim relays it to the job's).
 */
const fitOf = (plan: EgressPlan) =>
  JSON.stringify([plan.instance, plan.profileName, plan.upstream, plan.image, plan.policy]);

export function spareGateways(gateways: EgressGateways, opts: SpareOptions = {}): EgressGateways {
  const { claim } = gateways;
  if (!claim) return gateways;
  const spares = new Map<string, Spare>();
  /** Refills owed once a runner's launch is over (`launched`), or after LAUNCH_GRACE_MS at the latest. */
  const owed = new Map<string, NodeJS.Timeout>();
  const names = new Set<string>();
  let closed = false;

  const drop = (name: string) => {
    names.delete(name);
    return gateways.remove(name).catch(() => {});
  };

  function refill(plan: EgressPlan): void {
    const fit = fitOf(plan);
    if (closed || spares.has(fit)) return;
    const name = `${plan.instance}-spare-${randomBytes(4).toString('hex')}`;
    names.add(name);
    // The job's own broker stays the job's: the spare relays none until a job claims it.
    const { broker: _job, ...shared } = plan;
    const lease = gateways.create({
      ...shared,
      runnerName: name,
      network: egressNetworkName(name),
      gateway: gatewayName(name),
    });
    const timer = setTimeout(
      () => {
        if (spares.get(fit)?.name === name) spares.delete(fit);
        void lease.then(
          () => drop(name),
          () => drop(name),
        );
      },
      opts.idleMs ?? 30 * 60_000,
    );
    timer.unref();
    // A spare that fails to start is forgotten: the next job starts its own gateway and says why, if it fails too.
    lease.catch(() => {
      if (spares.get(fit)?.name === name) spares.delete(fit);
      clearTimeout(timer);
      names.delete(name);
    });
    spares.set(fit, { name, lease, timer });
  }

  async function create(plan: EgressPlan): Promise<EgressLease> {
    const fit = fitOf(plan);
    const spare = spares.get(fit);
    spares.delete(fit);
    // Without a spare, this job's gateway starts alone and the next one after it: two at once would slow this one.
    if (spare) clearTimeout(spare.timer);
    // The next spare starts once this job's container has: Docker would start both one after the other anyway.
    const timer = setTimeout(() => launched(plan.runnerName), LAUNCH_GRACE_MS);
    timer.unref();
    owed.set(plan.runnerName, timer);
    refills.set(plan.runnerName, plan);
    if (!spare) return gateways.create(plan);
    const lease = await spare.lease.catch(() => undefined);
    if (lease) {
      try {
        await claim!(spare.name, plan);
        names.delete(spare.name);
        return lease;
      } catch (err) {
        await drop(spare.name);
        if (isDockerDown(err)) throw err;
      }
    }
    return gateways.create(plan);
  }

  const refills = new Map<string, EgressPlan>();
  function launched(runnerName: string): void {
    clearTimeout(owed.get(runnerName));
    owed.delete(runnerName);
    const plan = refills.get(runnerName);
    refills.delete(runnerName);
    if (plan) refill(plan);
  }

  return {
    ...gateways,
    create,
    launched,
    sweep: (keep) => gateways.sweep((runner) => names.has(runner) || keep(runner)),
    async close() {
      closed = true;
      for (const t of owed.values()) clearTimeout(t);
      owed.clear();
      const all = [...spares.values()];
      spares.clear();
      for (const s of all) clearTimeout(s.timer);
      await Promise.all(
        all.map((s) =>
          s.lease.then(
            () => drop(s.name),
            () => drop(s.name),
          ),
        ),
      );
      await gateways.close?.();
    },
  };
}
