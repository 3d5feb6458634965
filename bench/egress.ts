// What egress costs: how long a job's gateway takes to be serving when no spare is ready (egress-pickup.ts measures
// the pickup itself), and the latency the gateway adds per HTTP request, from a job behind it against the same
// request from a container on the world's network. `npm run bench -- --only egress`, or alone:
// `npx tsx bench/egress.ts`.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { profileSchema } from '../controller/config/config.js';
import { containerSpec } from '../controller/daemon/runner-spec.js';
import { egressGateways } from '../controller/egress/egress-gateway.js';
import { egressPlan, withEgress } from '../controller/egress/egress-plan.js';
import { ensureLocalBase } from '../test/support/local-base.js';
import { probe } from '../test/egress/probes.js';
import { startWorld } from '../test/egress/world.js';
import { median, p95, round } from './stats.js';

const REQUESTS = 200;
const GATEWAYS = 5;

/** Sequential HTTP requests from inside a container, each on a fresh connection; milliseconds per request. */
const timedRequests = (url: string, viaProxy: boolean) => `
  const http = require('node:http');
  const proxy = ${viaProxy} ? new URL(process.env.HTTP_PROXY) : undefined;
  const one = () => new Promise((resolve, reject) => {
    const u = new URL('${url}');
    const t0 = process.hrtime.bigint();
    const req = http.request(proxy ? { host: proxy.hostname, port: proxy.port, path: u.href, headers: { host: u.host } }
                                   : { host: u.hostname, port: u.port || 80, path: u.pathname, agent: false },
      (res) => { res.resume(); res.on('end', () => resolve(Number(process.hrtime.bigint() - t0) / 1e6)); });
    req.on('error', reject); req.end();
  });
  const times = [];
  for (let i = 0; i < ${REQUESTS}; i++) times.push(await one());
  done({ times });`;

export async function benchEgress(docker: Docker, dir: string) {
  const prefix = `fxbench-egress-${randomBytes(3).toString('hex')}`;
  const labels = { 'factory.test': prefix };
  const image = await ensureLocalBase(docker);
  const world = await startWorld(docker, prefix, image, labels);
  const gateways = egressGateways(docker, { instance: prefix, dir: join(dir, 'egress'), upstreamDns: [world.ipv4] });
  const profile = profileSchema.parse({
    labels: ['x'],
    image,
    network: world.network,
    egress: { allow: ['api.anthropic.test'] },
  });
  const identity = (n: number) => ({
    instance: prefix,
    repo: 'o/r',
    profileName: 'lane',
    jobId: n,
    runnerId: 0,
    runnerName: `${prefix}-${n}`,
  });
  const created: Docker.Container[] = [];
  try {
    const startup: number[] = [];
    for (let n = 1; n <= GATEWAYS; n++) {
      const t0 = performance.now();
      await gateways.create(egressPlan(identity(n), profile)!);
      startup.push(performance.now() - t0);
      if (n > 1) await gateways.remove(identity(n).runnerName);
    }
    const lease = await gateways.create(egressPlan(identity(0), profile)!);
    const spec = withEgress(containerSpec(identity(0), profile, '', { mounts: [], env: {} }), lease);
    const keepAlive = { Entrypoint: ['sleep'], Cmd: ['infinity'], Labels: labels };
    const start = async (s: Docker.ContainerCreateOptions) => {
      const c = await docker.createContainer(s);
      created.push(c);
      await c.start();
      return c;
    };
    const lane = await start({ ...spec, ...keepAlive, name: `${prefix}-job` });
    const control = await start({
      ...spec,
      ...keepAlive,
      name: `${prefix}-control`,
      HostConfig: { ...spec.HostConfig, NetworkMode: world.network, Dns: [world.ipv4], Sysctls: {} },
    });
    const times = async (c: Docker.Container, viaProxy: boolean) =>
      ((await probe(c, timedRequests('http://api.anthropic.test/bench', viaProxy))).parsed?.times as number[]) ?? [];
    const direct = await times(control, false);
    const proxied = await times(lane, true);
    return {
      gatewayReadyMs: { median: round(median(startup)), max: round(Math.max(...startup)) },
      directMs: { median: round(median(direct), 2), p95: round(p95(direct), 2) },
      proxiedMs: { median: round(median(proxied), 2), p95: round(p95(proxied), 2) },
      addedMedianMs: round(median(proxied) - median(direct), 2),
      requests: REQUESTS,
      starts: GATEWAYS,
    };
  } finally {
    for (const c of created) await c.remove({ force: true }).catch(() => {});
    await gateways.sweep(() => false);
    await world.remove();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = mkdtempSync(join(tmpdir(), 'factory-bench-egress-'));
  benchEgress(new Docker(), dir)
    .then((r) => console.log(JSON.stringify(r, null, 2)))
    .finally(() => rmSync(dir, { recursive: true, force: true }));
}
