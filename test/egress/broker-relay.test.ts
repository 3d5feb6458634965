// The gateway's broker port, on the controller's side: relayed to the job's own broker once a job claims a spare or
// its broker is started again after a restart, and nowhere while a gateway has no broker (a spare, or a job adopted
// after a restart before that): never to whatever happens to listen on the host's own port of that number. Docker is a stand-in here: only the relay sockets are real.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { egressGateways } from '../../controller/egress/egress-gateway.js';
import { EGRESS_LABEL, EGRESS_LOOPBACK_LABEL, type EgressPlan } from '../../controller/egress/egress-plan.js';
import { BROKER_PORT } from '../../controller/gateway/egress-policy.js';
import { LABEL } from '../../controller/model/runner.js';

const root = mkdtempSync(join(tmpdir(), 'factory-broker-relay-'));
let broker: Server;
let brokerPort: number;

beforeAll(async () => {
  broker = createServer((s) => s.end('broker'));
  await new Promise<void>((r) => broker.listen(0, '127.0.0.1', r));
  brokerPort = (broker.address() as { port: number }).port;
});
afterAll(() => {
  broker.close();
  rmSync(root, { recursive: true, force: true });
});

/** A running spare gateway named after `spare`, with the loopback label its policy gave it. */
function docker(spare: string, loopback: string): Docker {
  const renamed: string[] = [];
  const gateway = {
    Id: 'g1',
    Names: [`/${spare}-gateway`],
    State: { Running: true },
    Config: { Labels: { [EGRESS_LABEL]: spare, [EGRESS_LOOPBACK_LABEL]: loopback } },
    Labels: { [EGRESS_LABEL]: spare, [EGRESS_LOOPBACK_LABEL]: loopback, [LABEL.instance]: 'i' },
  };
  return {
    renamed,
    getContainer: () => ({
      inspect: async () => gateway,
      rename: async ({ name }: { name: string }) => void renamed.push(name),
      remove: async () => {},
    }),
    listContainers: async () => [gateway],
    listNetworks: async () => [],
  } as unknown as Docker;
}

const plan = (runnerName: string, broker?: number): EgressPlan => ({
  runnerName,
  instance: 'i',
  profileName: 'lane',
  network: `${runnerName}-egress`,
  gateway: `${runnerName}-gateway`,
  upstream: 'bridge',
  image: 'img',
  policy: { allow: [], loopback: [BROKER_PORT] },
  ...(broker === undefined ? {} : { broker }),
});

/** The socket files in the one gateway folder under `dir`. */
const sockets = (dir: string) => {
  const [folder] = readdirSync(dir);
  const relay = join(dir, folder!, 'relay');
  return existsSync(relay) ? readdirSync(relay).map((s) => join(relay, s)) : [];
};

const answer = (path: string) =>
  new Promise<string>((resolve, reject) => {
    let got = '';
    const s = connect({ path });
    s.on('data', (d) => (got += d.toString()));
    s.on('end', () => resolve(got));
    s.on('error', reject);
  });

describe("the gateway's broker port", () => {
  it("is relayed to the claiming job's broker once it claims a spare", async () => {
    const dir = join(root, 'claim');
    const gateways = egressGateways(docker('i-spare-1', String(BROKER_PORT)), { instance: 'i', dir });
    await gateways.claim!('i-spare-1', plan('runner-2', brokerPort));
    const [socket, ...more] = sockets(dir);
    expect([socket?.endsWith(`/${BROKER_PORT}.sock`), more]).toEqual([true, []]);
    expect(await answer(socket!)).toBe('broker');
    await gateways.remove('runner-2');
  });

  it('is relayed nowhere for a gateway kept without a broker (a spare, or a job from before a restart)', async () => {
    const dir = join(root, 'sweep');
    const gateways = egressGateways(docker('runner-3', `3100,${BROKER_PORT}`), { instance: 'i', dir });
    expect(await gateways.sweep(() => true)).toEqual([]);
    expect(sockets(dir).map((s) => s.slice(s.lastIndexOf('/') + 1))).toEqual(['3100.sock']);
    await gateways.remove('runner-3');
  });

  it("is relayed to a job's broker started again after a restart, beside the relays the sweep serves", async () => {
    const dir = join(root, 'restart');
    const gateways = egressGateways(docker('runner-4', `3100,${BROKER_PORT}`), { instance: 'i', dir });
    // Either order: a sweep that failed before the broker came back still serves the others at the next pass.
    await gateways.relayBroker!('runner-4', brokerPort);
    await gateways.sweep(() => true);
    const names = sockets(dir).map((s) => s.slice(s.lastIndexOf('/') + 1));
    expect(names.sort()).toEqual(['3100.sock', `${BROKER_PORT}.sock`]);
    expect(await answer(sockets(dir).find((s) => s.endsWith(`/${BROKER_PORT}.sock`))!)).toBe('broker');
    await gateways.remove('runner-4');
    expect(readdirSync(dir)).toEqual([]);
  });
});
