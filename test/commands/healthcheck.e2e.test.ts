// The controller image's healthcheck (deploy/healthcheck.mjs), run inside a real container as Docker runs it: a
// stand-in controller listens where a factory.yml would bind it, and the check must be green only where GitHub's
// deliveries through a published port would arrive. The image is the local Debian base with this machine's node
// bound in, since the controller image's own base cannot be pulled here.
import { randomBytes } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_DISTRO } from '../../controller/images/local-base.js';
import { throwawayCa, type ThrowawayCa } from '../support/throwaway-ca.js';

const docker = new Docker();
const network = `factory-healthcheck-${randomBytes(4).toString('hex')}`;
let ca: ThrowawayCa;

beforeAll(async () => {
  await docker.createNetwork({ Name: network });
  ca = throwawayCa();
});

afterAll(async () => {
  await docker
    .getNetwork(network)
    .remove()
    .catch(() => undefined);
  ca?.remove();
});

/** A server answering `status` on host:8080 (TLS with the throwaway CA's certificate when asked), then the check. */
async function check(opts: { host: string; status?: number; tls?: boolean; env?: string[] }) {
  const server = opts.tls
    ? `require('https').createServer({ cert: require('fs').readFileSync('/ca/cert'), key: require('fs').readFileSync('/ca/key') }, h)`
    : `require('http').createServer(h)`;
  const script =
    `const h = (q, s) => { s.writeHead(${opts.status ?? 200}, { 'content-type': 'application/json' }); ` +
    `s.end(JSON.stringify({ status: 'ok', path: q.url })); }; ` +
    `${server}.listen(8080, '${opts.host}', () => require('fs').writeFileSync('/tmp/up', ''));`;
  const container = await docker.createContainer({
    Image: LOCAL_DISTRO,
    Cmd: [
      'sh',
      '-c',
      `node -e "$SERVER" & for i in $(seq 100); do [ -e /tmp/up ] && break; sleep 0.05; done; ` +
        'node /opt/factory/deploy/healthcheck.mjs',
    ],
    Env: [`SERVER=${script}`, ...(opts.env ?? [])],
    HostConfig: {
      NetworkMode: network,
      Binds: [
        `${realpathSync(process.execPath)}:/usr/local/bin/node:ro`,
        `${resolve('deploy')}:/opt/factory/deploy:ro`,
        `${ca.certFile}:/ca/cert:ro`,
        `${ca.keyFile}:/ca/key:ro`,
      ],
    },
  });
  try {
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    const logs = (await container.logs({ stdout: true, stderr: true })).toString('utf8');
    return { code: StatusCode, logs };
  } finally {
    await container.remove({ force: true });
  }
}

describe('deploy/healthcheck.mjs in a container', () => {
  it('is green for a webhook bound to 0.0.0.0, the compose setting', async () => {
    const { code, logs } = await check({ host: '0.0.0.0' });
    expect(logs).toBe('');
    expect(code).toBe(0);
  });

  it("fails a webhook bound to the container's loopback, the example's 127.0.0.1, and names the fix", async () => {
    const { code, logs } = await check({ host: '127.0.0.1' });
    expect(code).toBe(1);
    expect(logs).toMatch(/:8080\/healthz: ECONNREFUSED/);
    expect(logs).toContain("answers on this container's loopback only");
    expect(logs).toContain('github.webhook.host: 0.0.0.0');
  });

  it('fails on a 503 and shows the answer, which names what is down', async () => {
    const { code, logs } = await check({ host: '0.0.0.0', status: 503 });
    expect(code).toBe(1);
    expect(logs).toMatch(/answered 503: \{"status":"ok","path":"\/healthz"\}/);
  });

  it('asks a port that serves TLS itself over HTTPS', async () => {
    const { code, logs } = await check({ host: '0.0.0.0', tls: true });
    expect(logs).toBe('');
    expect(code).toBe(0);
  });

  it("asks the status port with intake: scaleset's setting, and loopback with FACTORY_HEALTH_HOST", async () => {
    expect((await check({ host: '0.0.0.0', env: ['FACTORY_HEALTH_PORT=8081'] })).code).toBe(1);
    const hostNetwork = await check({ host: '127.0.0.1', env: ['FACTORY_HEALTH_HOST=127.0.0.1'] });
    expect(hostNetwork.logs).toBe('');
    expect(hostNetwork.code).toBe(0);
  });
});
