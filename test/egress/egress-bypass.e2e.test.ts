// The bypass suite: a job behind its egress gateway tries every way out we know of, on the real engine. Each case
// runs its probe twice: in a control container on the world's network (egress off), where it must leak, which proves
// the probe can see a leak, and in the job's container behind the gateway, where it must not. The "world" is a
// container on a network this test creates; nothing here sends a packet anywhere else.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer, type Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { profileSchema } from '../../controller/config/config.js';
import { containerSpec } from '../../controller/daemon/runner-spec.js';
import { egressGateways, type EgressGateways } from '../../controller/egress/egress-gateway.js';
import { spareGateways } from '../../controller/egress/spare-gateways.js';
import { LABEL } from '../../controller/model/runner.js';
import {
  brokerUrl,
  EGRESS_LABEL,
  egressPlan,
  withBrokerRelay,
  withEgress,
  type EgressLease,
} from '../../controller/egress/egress-plan.js';
import type { RunnerIdentity } from '../../controller/model/runner.js';
import { ensureLocalBase } from '../support/local-base.js';
import { probe, runIn } from './probes.js';
import { startWorld, type World } from './world.js';

const docker = new Docker();
const prefix = `fxegress-${randomBytes(3).toString('hex')}`;
const labels = { 'factory.test': prefix };
const BUSYBOX = 'factory-test/busybox:1';
const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));

let image: string;
let world: World;
let gateways: EgressGateways;
let lease: EgressLease;
let lane: Docker.Container;
let control: Docker.Container;
let laneNetGateway: string;
let hostService: Server;
let hostPort: number;
let hostSink: NetServer;
let sinkPort: number;
const sunk: string[] = [];
const identity: RunnerIdentity = {
  instance: prefix,
  repo: 'o/r',
  profileName: 'lane',
  jobId: 1,
  runnerId: 0,
  runnerName: `${prefix}-lane`,
};
let laneSpec: ReturnType<typeof withEgress>;

const listen = (server: Server | NetServer, host: string) =>
  new Promise<number>((resolve) => server.listen(0, host, () => resolve((server.address() as { port: number }).port)));
const marker = () => `mk${randomBytes(5).toString('hex')}`;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `body(marker)` in the container and says whether the marker reached the world (or the host's sink). */
async function tryLeak(container: Docker.Container, body: (m: string) => string, user?: string) {
  const m = marker();
  const result = await probe(container, body(m), user);
  await pause(300);
  const seen = [...(await world.seen(m)), ...sunk.filter((s) => s.includes(m))];
  return { leaked: seen.length > 0, result: result.parsed ?? result.out, seen };
}

/** Both runs of a case: the control must leak (else the probe proves nothing), the job must not. */
async function expectBlocked(body: (m: string) => string, user?: string) {
  const off = await tryLeak(control, body, user);
  expect(off.leaked, `control did not leak, so this probe cannot see a leak: ${JSON.stringify(off.result)}`).toBe(true);
  const on = await tryLeak(lane, body, user);
  expect(on.seen, `leaked from behind the gateway: ${JSON.stringify(on.result)}`).toEqual([]);
  return on.result;
}

async function startContainer(spec: Docker.ContainerCreateOptions): Promise<Docker.Container> {
  const c = await docker.createContainer({ ...spec, Labels: labels });
  await c.start();
  return c;
}

beforeAll(async () => {
  image = await ensureLocalBase(docker);
  world = await startWorld(docker, prefix, image, labels);
  hostService = createHttpServer((_, res) => res.end('loopback-ok\n'));
  hostPort = await listen(hostService, '127.0.0.1');
  // Catches anything that reaches the host itself from a container (bound to all addresses on purpose, briefly).
  hostSink = createServer((s) => s.on('data', (d) => sunk.push(d.toString('latin1'))).on('error', () => {}));
  sinkPort = await listen(hostSink, '0.0.0.0');

  gateways = egressGateways(docker, {
    instance: prefix,
    dir: join(dir, 'egress'),
    upstreamDns: [world.ipv4],
  });
  const profile = profileSchema.parse({
    labels: ['self-hosted', 'lane'],
    image,
    network: world.network,
    egress: { allow: ['api.anthropic.test'], loopback: [`127.0.0.1:${hostPort}`] },
  });
  lease = await gateways.create(egressPlan(identity, profile)!);
  laneNetGateway = (
    (await docker.getNetwork(lease.network).inspect()) as { IPAM: { Config: Array<{ Gateway: string }> } }
  ).IPAM.Config[0]!.Gateway;
  laneSpec = withEgress(containerSpec(identity, profile, '', { mounts: [], env: {} }), lease);
  const keepAlive = { Entrypoint: ['sleep'], Cmd: ['infinity'] };
  lane = await startContainer({ ...laneSpec, ...keepAlive, name: `${prefix}-job` });
  control = await startContainer({
    ...laneSpec,
    ...keepAlive,
    name: `${prefix}-control`,
    Env: laneSpec.Env.filter((e) => !/^(https?_proxy|no_proxy)=/i.test(e)),
    HostConfig: { ...laneSpec.HostConfig, NetworkMode: world.network, Dns: [world.ipv4], Sysctls: {} },
  });
}, 600_000);

afterAll(async () => {
  const ours = await docker.listContainers({ all: true, filters: { label: [`factory.test=${prefix}`] } });
  for (const c of ours) await docker.getContainer(c.Id).remove({ force: true });
  await gateways?.remove(identity.runnerName);
  await world?.remove();
  hostService?.close();
  hostSink?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a job behind its egress gateway', () => {
  it('cannot reach an outside container by its address', async () => {
    await expectBlocked((m) => `done(await tcp('${world.ipv4}', 9999, '${m}'))`);
  });

  it('cannot reach the host through its bridge (the host end has no address)', async () => {
    const off = await tryLeak(control, (m) => `done(await tcp('${world.bridgeGateway}', ${sinkPort}, '${m}'))`);
    expect(off.leaked, 'a container outside egress reaches the host through its bridge').toBe(true);
    const on = await tryLeak(lane, (m) => `done(await tcp('${laneNetGateway}', ${sinkPort}, '${m}'))`);
    expect(on.seen).toEqual([]);
    // Nobody answers for that address: the connect times out or finds no host, and nothing comes back.
    expect(on.result).toMatchObject({ got: '' });
    expect(on.result).not.toHaveProperty('connected', true);
  });

  it('cannot ask another resolver over UDP or TCP', async () => {
    await expectBlocked((m) => `done(await udpDns('${world.ipv4}', '${m}.udp.test'))`);
    await expectBlocked((m) => `done(await tcpDns('${world.ipv4}', '${m}.tcp.test'))`);
  });

  it('cannot use DNS over HTTPS on an unlisted host, through the proxy or around it', async () => {
    const doh = (proxy: string[]) => async (c: Docker.Container) => {
      const m = marker();
      const url = `https://doh-${m}.dns.google.test/dns-query?dns=AAABAAABAAAAAAAAA2ZvbwR0ZXN0AAABAAE`;
      const r = await runIn(c, ['curl', '-sS', '--max-time', '5', ...proxy, url], '1000:1000');
      await pause(300);
      return { seen: await world.seen(m), out: r.out };
    };
    expect((await doh(['--noproxy', '*'])(control)).seen).not.toEqual([]);
    const viaProxy = await doh([])(lane);
    expect(viaProxy.seen).toEqual([]);
    expect(viaProxy.out).toMatch(/403|CONNECT/);
    const around = await doh(['--noproxy', '*'])(lane);
    expect(around.seen).toEqual([]);
    expect(around.out).toMatch(/resolve/i);
  });

  it('has no IPv6', async () => {
    expect(world.ipv6).not.toBe('');
    await expectBlocked((m) => `done(await tcp('${world.ipv6}', 9999, '${m}'))`);
  });

  // Never run outside egress: on a cloud host the control would reach the real metadata service. The job's route to
  // it goes through its network's gateway address, which nothing holds (the case above), and the gateway refuses
  // addresses whichever way they are asked for.
  it('gets no answer from the cloud metadata address, directly, by CONNECT or by Host header', async () => {
    const direct = await probe(lane, `done(await tcp('169.254.169.254', 80, 'GET / HTTP/1.0\\r\\n\\r\\n'))`);
    expect(direct.parsed).toMatchObject({ got: '' });
    expect(direct.parsed).not.toHaveProperty('connected', true);
    const connect = await probe(lane, `done(await connectVia('${lease.address}', '169.254.169.254:80', ''))`);
    expect(connect.parsed).toMatchObject({ got: expect.stringMatching(/^HTTP\/1\.1 403/) });
    const host = await probe(
      lane,
      `done(await tcp('${lease.address}', 80, 'GET /latest/meta-data/ HTTP/1.1\\r\\nHost: 169.254.169.254\\r\\n\\r\\n'))`,
    );
    expect(host.parsed).toMatchObject({ got: '' });
    expect(await gateways.refusals(identity.runnerName)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'connect', host: '169.254.169.254', port: 80 }),
        expect.objectContaining({ kind: 'http', host: '169.254.169.254', port: 80 }),
      ]),
    );
  });

  it('cannot tunnel data through long names to the allowed resolver: no name leaves it', async () => {
    const name = (m: string) => `${m}${'a'.repeat(50)}.${'b'.repeat(60)}.${'c'.repeat(60)}.tunnel.test`;
    await expectBlocked((m) => `done(await lookup('${name(m)}'))`);
    const direct = await tryLeak(lane, (m) => `done(await udpDns('${lease.address}', '${name(m)}'))`);
    expect(direct.seen).toEqual([]);
    expect(direct.result).toMatchObject({ rcode: 3, answers: 0 });
    const overTcp = await tryLeak(lane, (m) => `done(await tcpDns('${lease.address}', '${name(m)}'))`);
    expect(overTcp.seen).toEqual([]);
  });

  it('stays in as root with NET_ADMIN routing through the gateway (the job is given neither)', async () => {
    const escape = async (network: string, dns: string, via: string | undefined) => {
      const m = marker();
      const route = via ? `busybox ip route replace default via ${via}; busybox ip route flush cache;` : '';
      const c = await docker.createContainer({
        name: `${prefix}-root-${m}`,
        Image: BUSYBOX,
        User: '0:0',
        Entrypoint: ['busybox', 'sh', '-c'],
        // TCP needs an answer to come back; a DNS question over UDP leaks one way, and is enough.
        Cmd: [`${route} echo ${m} | busybox nc -w 3 ${world.ipv4} 9999; busybox nslookup ${m}.root.test ${world.ipv4}`],
        Labels: labels,
        HostConfig: { NetworkMode: network, Dns: [dns], CapDrop: ['ALL'], CapAdd: ['NET_ADMIN', 'NET_RAW'] },
      });
      await c.start();
      await c.wait();
      await pause(300);
      return world.seen(m);
    };
    expect(await escape(world.network, world.ipv4, undefined)).not.toEqual([]);
    expect(await escape(lease.network, lease.address, lease.address)).toEqual([]);
  });

  it('stays in from another user, as an MCP server process would run', async () => {
    await expectBlocked((m) => {
      const child = `const s = require('node:net').connect(9999, '${world.ipv4}'); s.on('connect', () => s.end('${m}')); s.on('error', () => {}); setTimeout(() => {}, 1500)`;
      return `require('node:child_process').execFileSync('node', ['-e', ${JSON.stringify(child)}]); done({ child: 'exited' })`;
    }, '1001:1001');
  });

  it('stays in from its first instruction: a connection opened as the container starts', async () => {
    const firstThing = async (hostConfig: Record<string, unknown>, env: string[]) => {
      const m = marker();
      const c = await docker.createContainer({
        ...laneSpec,
        name: `${prefix}-first-${m}`,
        Env: env,
        Labels: labels,
        Entrypoint: ['node', '-e'],
        Cmd: [
          `const s = require('node:net').connect(9999, '${world.ipv4}'); s.on('connect', () => s.end('${m}')); s.on('error', () => {}); setTimeout(() => {}, 2500)`,
        ],
        HostConfig: { ...laneSpec.HostConfig, ...hostConfig },
      });
      await c.start();
      await c.wait();
      await pause(300);
      return world.seen(m);
    };
    expect(await firstThing({ NetworkMode: world.network, Dns: [world.ipv4], Sysctls: {} }, [])).not.toEqual([]);
    expect(await firstThing({}, laneSpec.Env)).toEqual([]);
  });

  it('cannot reach an allowed host on another port, through CONNECT or directly', async () => {
    const off = await tryLeak(control, (m) => `done(await tcp('api.anthropic.test', 22, '${m}'))`);
    expect(off.leaked).toBe(true);
    const viaConnect = await tryLeak(
      lane,
      (m) => `done(await connectVia('${lease.address}', 'api.anthropic.test:22', '${m}'))`,
    );
    expect(viaConnect.seen).toEqual([]);
    expect(viaConnect.result).toMatchObject({ got: expect.stringMatching(/^HTTP\/1\.1 403/) });
    const direct = await tryLeak(lane, (m) => `done(await tcp('api.anthropic.test', 22, '${m}'))`);
    expect(direct.seen).toEqual([]);
    expect(direct.result).toMatchObject({ error: 'ECONNREFUSED' });
  });

  it('reaches an allowed name through the proxy, and around it by Host and by SNI', async () => {
    const m1 = marker();
    expect(
      (await runIn(lane, ['curl', '-sS', '--max-time', '5', `http://api.anthropic.test/${m1}`], '1000:1000')).out,
    ).toBe('world');
    const m2 = marker();
    expect(
      (
        await runIn(
          lane,
          ['curl', '-sS', '--max-time', '5', '--noproxy', '*', `http://api.anthropic.test/${m2}`],
          '1000:1000',
        )
      ).out,
    ).toBe('world');
    const m3 = marker();
    await probe(
      lane,
      `const s = tls.connect({ host: 'api.anthropic.test', port: 443, servername: 'api.anthropic.test', ALPNProtocols: ['${m3}'] });
       s.on('error', () => {}); setTimeout(() => done({}), 1500);`,
    );
    const m4 = marker();
    const tunnel = await probe(lane, `done(await connectVia('${lease.address}', 'api.anthropic.test:443', '${m4}'))`);
    expect(tunnel.parsed).toMatchObject({ got: expect.stringMatching(/^HTTP\/1\.1 200/) });
    await pause(300);
    for (const m of [m1, m2, m3, m4]) expect(await world.seen(m), m).not.toEqual([]);
  });

  it("reaches a listed loopback service of the host at the gateway's address, and no other", async () => {
    const r = await runIn(
      lane,
      ['curl', '-sS', '--max-time', '5', `http://${lease.address}:${hostPort}/`],
      '1000:1000',
    );
    expect(r.out).toBe('loopback-ok');
    const other = await probe(lane, `done(await tcp('${lease.address}', ${sinkPort}, 'x'))`);
    expect(other.parsed).toMatchObject({ error: 'ECONNREFUSED' });
  });

  it('reports what it refused: host, port, kind and time', async () => {
    await runIn(lane, ['curl', '-sS', '--max-time', '5', 'https://pastebin.test/'], '1000:1000');
    const refused = await gateways.refusals(identity.runnerName);
    expect(refused).toContainEqual({
      kind: 'connect',
      host: 'pastebin.test',
      port: 443,
      reason: 'host not allowed',
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      profile: 'lane',
    });
    expect(refused).toContainEqual(
      expect.objectContaining({ kind: 'dns', host: expect.stringMatching(/tunnel\.test$/) }),
    );
  });

  it("lists what it refused to the job's action at FACTORY_EGRESS_REPORT, which the job can add to but not erase", async () => {
    const url = laneSpec.Env.find((e) => e.startsWith('FACTORY_EGRESS_REPORT='))!.split('=')[1]!;
    expect(url).toBe(`http://${lease.address}:3128/.factory/egress-refusals`);
    const read = async () =>
      JSON.parse((await runIn(lane, ['curl', '-sS', '--max-time', '5', url], '1000:1000')).out) as {
        blocked: Array<{ host: string; port: number; count: number }>;
      };
    const before = await read();
    expect(before.blocked).toContainEqual(expect.objectContaining({ host: 'pastebin.test', port: 443 }));
    for (const method of ['DELETE', 'PUT', 'POST'])
      await runIn(lane, ['curl', '-sS', '--max-time', '5', '-X', method, '-d', '{"blocked":[]}', url], '1000:1000');
    const after = await read();
    for (const d of before.blocked) expect(after.blocked).toContainEqual(expect.objectContaining({ host: d.host }));
  });
});

describe('the egress module leaves nothing behind', () => {
  const leftovers = async (runnerName: string) => [
    ...(await docker.listContainers({ all: true, filters: { label: [`${EGRESS_LABEL}=${runnerName}`] } })),
    ...(await docker.listNetworks({ filters: { label: [`${EGRESS_LABEL}=${runnerName}`] } })),
  ];
  const profileFor = (upstream = world.network) =>
    profileSchema.parse({
      labels: ['x'],
      image,
      network: upstream,
      egress: { allow: ['a.test'], loopback: [hostPort] },
    });
  const planFor = (runnerName: string, upstream: string) =>
    egressPlan({ ...identity, runnerName }, profileFor(upstream))!;
  const none = { mounts: [], env: {} };

  it('when the gateway cannot join its upstream network: the launch fails and nothing is left', async () => {
    const runnerName = `${prefix}-broken`;
    await expect(gateways.create(planFor(runnerName, `${prefix}-no-such-network`))).rejects.toThrow(
      /egress gateway .* did not start/,
    );
    expect(await leftovers(runnerName)).toEqual([]);
  });

  it('after remove, and when the sweep finds a runner nobody knows', async () => {
    const a = `${prefix}-a`;
    await gateways.create(planFor(a, world.network));
    expect((await leftovers(a)).length).toBe(2);
    await gateways.remove(a);
    expect(await leftovers(a)).toEqual([]);
    const b = `${prefix}-b`;
    await gateways.create(planFor(b, world.network));
    expect(await gateways.sweep((r) => r !== b)).toEqual([b]);
    expect(await leftovers(b)).toEqual([]);
  });

  it('a spare a job claims is renamed after its runner and goes with it; close removes the next spare', async () => {
    const spares = spareGateways(gateways);
    const [first, second] = [`${prefix}-s1`, `${prefix}-s2`];
    await spares.create(planFor(first, world.network));
    spares.launched!(first);
    // The spare started behind the first job: the second claims it (waiting for it to serve, if need be).
    const lease = await spares.create(planFor(second, world.network));
    const spare = lease.network.replace(/-egress$/, '');
    expect(spare).toMatch(new RegExp(`^${prefix}-spare-`));
    const claimed = await docker.getContainer(`${second}-gateway`).inspect();
    expect(claimed.State.Running).toBe(true);
    expect(claimed.Config.Labels[EGRESS_LABEL]).toBe(spare);
    // The sweep keeps it for its runner, and removal finds its network by the spare's label.
    expect(await spares.sweep((r) => [first, second, identity.runnerName].includes(r))).toEqual([]);
    await spares.remove(second);
    expect(await leftovers(spare)).toEqual([]);
    await spares.remove(first);
    await spares.close!();
    const left = await docker.listContainers({ all: true, filters: { label: [`${LABEL.instance}=${prefix}`] } });
    expect(left.filter((c) => c.Names.some((n) => n.includes('-spare-')))).toEqual([]);
  });

  it("brokered jobs claim spares too, and each reaches its own broker at its gateway's broker port", async () => {
    // Two jobs' brokers on the controller's loopback, each on a port of its own.
    const brokers = ['broker-of-b1', 'broker-of-b2'].map((answer) => createHttpServer((_, res) => res.end(answer)));
    const ports = await Promise.all(brokers.map((b) => listen(b, '127.0.0.1')));
    const spares = spareGateways(gateways);
    const [first, second] = [`${prefix}-b1`, `${prefix}-b2`];
    try {
      const leases = [await spares.create(withBrokerRelay(planFor(first, world.network), ports[0]!))];
      spares.launched!(first);
      leases.push(await spares.create(withBrokerRelay(planFor(second, world.network), ports[1]!)));
      expect(leases[1]!.network).toMatch(new RegExp(`^${prefix}-spare-`));
      const answers: string[] = [];
      for (const [i, lease] of leases.entries()) {
        const job = await startContainer({
          ...withEgress(
            containerSpec({ ...identity, runnerName: `${prefix}-bjob${i}` }, profileFor(), '', none),
            lease,
          ),
          Entrypoint: ['sleep'],
          Cmd: ['infinity'],
          name: `${prefix}-bjob${i}`,
        });
        answers.push((await runIn(job, ['curl', '-sS', '--max-time', '5', brokerUrl(lease)], '1000:1000')).out);
        await job.remove({ force: true });
      }
      expect(answers).toEqual(['broker-of-b1', 'broker-of-b2']);
    } finally {
      for (const runner of [first, second]) await spares.remove(runner);
      await spares.close!();
      for (const b of brokers) b.close();
    }
  });
});
