// Spare gateways: a job claims the one kept serving for its setup, the next one starts behind it, the sweep keeps
// spares, and close removes them; a spare that cannot be claimed leaves the job to start its own.
import { describe, expect, it } from 'vitest';
import type { EgressGateways } from '../../controller/egress/egress-gateway.js';
import type { EgressPlan } from '../../controller/egress/egress-plan.js';
import { spareGateways } from '../../controller/egress/spare-gateways.js';

const plan = (runnerName: string, profileName = 'lane'): EgressPlan => ({
  runnerName,
  instance: 'i',
  profileName,
  network: `${runnerName}-egress`,
  gateway: `${runnerName}-gateway`,
  upstream: 'bridge',
  image: 'img',
  policy: { allow: [{ host: 'a.test' }], loopback: [] },
});

function fake(opts: { claimFails?: boolean } = {}) {
  const made: string[] = [];
  const claimed: string[] = [];
  const removed: string[] = [];
  const kept: string[][] = [];
  const gateways: EgressGateways = {
    async create(p) {
      made.push(p.runnerName);
      return { network: p.network, address: `10.0.0.${made.length}`, loopback: [] };
    },
    async claim(spare, p) {
      if (opts.claimFails) throw new Error('gone');
      claimed.push(`${spare} -> ${p.runnerName}`);
    },
    async remove(name) {
      removed.push(name);
    },
    refusals: async () => [],
    async sweep(keep) {
      kept.push(made.filter(keep));
      return [];
    },
  };
  return { gateways, made, claimed, removed, kept };
}

const settle = () => new Promise((r) => setTimeout(r, 0));

describe('spare gateways', () => {
  it('the first job starts its own gateway, the next one claims the spare made after it', async () => {
    const f = fake();
    const egress = spareGateways(f.gateways);
    expect(await egress.create(plan('r1'))).toMatchObject({ network: 'r1-egress' });
    // The spare starts once the job's launch is over, not beside its container's start.
    expect(f.made).toEqual(['r1']);
    egress.launched!('r1');
    await settle();
    expect(f.made).toEqual(['r1', expect.stringMatching(/^i-spare-/)]);
    const spare = f.made[1]!;
    expect(await egress.create(plan('r2'))).toMatchObject({ network: `${spare}-egress` });
    expect(f.claimed).toEqual([`${spare} -> r2`]);
    egress.launched!('r2');
    // The next spare is on its way; the sweep keeps it, and close removes it.
    expect(f.made).toHaveLength(3);
    await egress.sweep(() => false);
    expect(f.kept.at(-1)).toEqual([f.made[2]]);
    await egress.close!();
    expect(f.removed).toEqual([f.made[2]]);
  });

  it('a job of another profile does not take the spare', async () => {
    const f = fake();
    const egress = spareGateways(f.gateways);
    await egress.create(plan('r1'));
    egress.launched!('r1');
    await settle();
    await egress.create(plan('r2', 'other'));
    expect(f.claimed).toEqual([]);
    expect(f.made.slice(0, 3)).toEqual(['r1', expect.stringMatching(/^i-spare-/), 'r2']);
    await egress.close!();
  });

  it('a spare that cannot be claimed is removed and the job starts its own gateway', async () => {
    const f = fake({ claimFails: true });
    const egress = spareGateways(f.gateways);
    await egress.create(plan('r1'));
    egress.launched!('r1');
    await settle();
    const spare = f.made[1]!;
    expect(await egress.create(plan('r2'))).toMatchObject({ network: 'r2-egress' });
    expect(f.removed).toEqual([spare]);
    await egress.close!();
  });

  it('an unclaimed spare is removed once idle', async () => {
    const f = fake();
    const egress = spareGateways(f.gateways, { idleMs: 10 });
    await egress.create(plan('r1'));
    egress.launched!('r1');
    await settle();
    await new Promise((r) => setTimeout(r, 50));
    expect(f.removed).toEqual([f.made[1]]);
    await egress.close!();
  });
});
