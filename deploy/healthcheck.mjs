// The controller image's healthcheck. It asks /healthz where GitHub's deliveries arrive: at the container's own
// network address, not at its loopback. A webhook bound to 127.0.0.1 inside a container answers on loopback while the
// published port reaches nothing, so a loopback check stays green while every delivery fails; asked at the
// container's address, that check fails and says why. A port serving TLS itself (github.webhook.tls) is asked over
// HTTPS without checking its certificate: this checks that the controller answers, not who it is.
//
// Environment (all optional):
//   FACTORY_HEALTH_PORT  8080 (the webhook port); 8081 with `intake: scaleset`, whose status port answers /healthz
//   FACTORY_HEALTH_HOST  the address to ask instead of the container's own (with `network_mode: host`: 127.0.0.1)
//   FACTORY_HEALTH_PATH  /healthz; /livez for a check that only restarts a process that stopped answering
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { networkInterfaces } from 'node:os';

const port = Number(process.env.FACTORY_HEALTH_PORT || 8080);
const path = process.env.FACTORY_HEALTH_PATH || '/healthz';
const TIMEOUT_MS = 4000;

/** The container's addresses on its networks (IPv4, not loopback); loopback when it has none (`network: none`). */
function ownAddresses() {
  const found = Object.values(networkInterfaces())
    .flat()
    .filter((a) => a && a.family === 'IPv4' && !a.internal)
    .map((a) => a.address);
  return found.length > 0 ? found : ['127.0.0.1'];
}

/** One GET: { status, body } on an answer, { error } (a Node error code or message) otherwise. */
function ask(request, host) {
  return new Promise((done) => {
    const req = request(
      {
        host,
        port,
        path,
        timeout: TIMEOUT_MS,
        rejectUnauthorized: false,
        headers: { 'user-agent': 'factory-healthcheck' },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (body = (body + chunk).slice(0, 500)));
        res.on('end', () => done({ status: res.statusCode, body }));
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error('no answer'), { code: 'ETIMEDOUT' })));
    req.on('error', (err) => done({ error: err.code || err.message }));
    req.end();
  });
}

/** HTTP first; a port that drops a plain request (TLS on the port itself) is asked again over HTTPS. */
async function askEither(host) {
  const plain = await ask(httpRequest, host);
  if (!plain.error || plain.error === 'ECONNREFUSED' || plain.error === 'ETIMEDOUT') return plain;
  const tls = await ask(httpsRequest, host);
  return tls.error ? plain : tls;
}

async function main() {
  const hosts = process.env.FACTORY_HEALTH_HOST ? [process.env.FACTORY_HEALTH_HOST] : ownAddresses();
  const answers = [];
  for (const host of hosts) {
    const answer = await askEither(host);
    if (answer.status === 200) return 0;
    answers.push({ host, ...answer });
  }
  for (const a of answers) {
    const where = `${a.host}:${port}${path}`;
    if (a.status) console.error(`factory healthcheck: ${where} answered ${a.status}: ${a.body.trim()}`);
    else console.error(`factory healthcheck: ${where}: ${a.error}`);
  }
  if (!process.env.FACTORY_HEALTH_HOST && answers.every((a) => a.error === 'ECONNREFUSED')) {
    const loopback = await askEither('127.0.0.1');
    if (loopback.status) {
      console.error(
        `factory healthcheck: port ${port} answers on this container's loopback only, so published ports and GitHub's ` +
          'deliveries reach nothing: set github.webhook.host: 0.0.0.0 in factory.yml (docs/real-host.md, "The webhook ' +
          'host under compose")',
      );
    }
  }
  return 1;
}

main().then((code) => process.exit(code));
