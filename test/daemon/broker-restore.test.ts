// An adopted brokered job's broker, started again by a restarted controller from the grant in the job's folder: the
// same placeholder; on host networking the same port or none (a port someone else took now is not shared, and the
// log says so); behind egress any port, which the job's gateway is told to relay to. A folder without a grant, and a
// gateway that cannot relay, leave no broker running.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { JobBrokers } from '../../controller/broker/job-brokers.js';
import { newPlaceholder } from '../../controller/broker/model-broker.js';
import { configSchema } from '../../controller/config/config.js';
import { restoreBroker } from '../../controller/daemon/broker-restore.js';
import type { EgressGateways } from '../../controller/egress/egress-gateway.js';
import { BROKER_FILE } from '../../controller/lanes/broker-placeholders.js';
import { jobDir } from '../../controller/lanes/lane-layout.js';
import type { RunnerIdentity } from '../../controller/model/runner.js';
import { createLogger } from '../../controller/observe/logger.js';

const stateDir = mkdtempSync(join(tmpdir(), 'factory-broker-restore-'));
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

const lane = (extra: Record<string, unknown>) => ({
  labels: ['self-hosted', 'lane'],
  image: 'runner:1',
  trusted: true,
  auth: 'broker',
  mounts: [{ kind: 'auth', agent: 'claude', source: join(stateDir, 'host-claude') }],
  ...extra,
});
const config = configSchema.parse({
  github: { auth: { tokenEnv: 'T' }, webhook: { secret: { env: 'S' } } },
  stateDir,
  profiles: {
    host: lane({ network: 'host' }),
    fenced: lane({ network: 'bridge', egress: { allow: ['github.com'], loopback: [] } }),
    copied: { ...lane({ network: 'host' }), auth: 'copy' },
  },
  repos: [{ repo: 'o/r', profiles: ['host', 'fenced', 'copied'] }],
});

let n = 0;
/** An adopted runner of `profileName`, its job folder holding `grant` (none when unset). */
function adopted(profileName: string, grant?: { token: string; url: string }): RunnerIdentity {
  const runnerName = `o-r-${profileName}-${++n}`;
  mkdirSync(jobDir(config, runnerName), { recursive: true });
  if (grant) writeFileSync(join(jobDir(config, runnerName), BROKER_FILE), JSON.stringify(grant));
  return { instance: 'default', repo: 'o/r', profileName, jobId: n, runnerId: n, runnerName };
}

function recordingLog() {
  const lines: Array<{ level: string; msg: string; port?: number }> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString('utf8')));
      done();
    },
  });
  return { lines, log: createLogger({ level: 'info', pretty: false, destination }) };
}

/** A gateway stand-in: records where each runner's broker port is relayed, or fails as a gone gateway does. */
function gateways(fail = false) {
  const relayed = new Map<string, number>();
  const egress = {
    async relayBroker(runnerName: string, port: number) {
      if (fail) throw new Error(`egress gateway ${runnerName}-gateway is not running`);
      relayed.set(runnerName, port);
    },
  } as unknown as EgressGateways;
  return { relayed, egress };
}

const ask = (port: number, token: string) =>
  fetch(`http://127.0.0.1:${port}/no-such-path`, { headers: { authorization: `Bearer ${token}` } }).then(
    (r) => r.status,
  );

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

let brokers: JobBrokers;
const strangers: Server[] = [];
afterEach(async () => {
  await brokers?.closeAll();
  for (const s of strangers.splice(0)) s.close();
});

describe("an adopted job's broker after a restart", () => {
  it('on host networking listens again on the port the job was given, for the same placeholder only', async () => {
    brokers = new JobBrokers(() => config);
    const port = await freePort();
    const token = newPlaceholder();
    const id = adopted('host', { token, url: `http://127.0.0.1:${port}` });
    const { lines, log } = recordingLog();

    await restoreBroker({ config, brokers, log }, id);

    expect(brokers.has(id.runnerName)).toBe(true);
    // The placeholder passes the broker's check (an unknown path is then a 404); any other token is a 401.
    expect(await ask(port, token)).toBe(404);
    expect(await ask(port, newPlaceholder())).toBe(401);
    expect(lines.filter((l) => l.level !== 'info')).toEqual([]);
  });

  it('on host networking leaves the job without a broker, and says so, when another process holds its port', async () => {
    brokers = new JobBrokers(() => config);
    const stranger = createServer((s) => s.end('stranger'));
    strangers.push(stranger);
    await new Promise<void>((r) => stranger.listen(0, '127.0.0.1', r));
    const { port } = stranger.address() as AddressInfo;
    const id = adopted('host', { token: newPlaceholder(), url: `http://127.0.0.1:${port}` });
    const { lines, log } = recordingLog();

    await restoreBroker({ config, brokers, log }, id);

    expect(brokers.has(id.runnerName)).toBe(false);
    const warnings = lines.filter((l) => l.level === 'warn');
    expect(warnings.map((w) => w.port)).toEqual([port]);
    expect(warnings[0]!.msg).toContain(`127.0.0.1:${port}`);
  });

  it("behind egress starts on a port of its own and points the job's gateway there", async () => {
    brokers = new JobBrokers(() => config);
    const token = newPlaceholder();
    const id = adopted('fenced', { token, url: 'http://172.30.0.2:3129' });
    const { relayed, egress } = gateways();

    await restoreBroker({ config, brokers, egress, log: recordingLog().log }, id);

    const port = relayed.get(id.runnerName);
    expect(port).toBeGreaterThan(0);
    expect(brokers.has(id.runnerName)).toBe(true);
    // This process stands for the relay here: the placeholder opens it (egress-bypass and the e2e test the rest).
    expect(await ask(port!, token)).toBe(404);
  });

  it('behind egress closes the broker again when the gateway cannot relay to it', async () => {
    brokers = new JobBrokers(() => config);
    const id = adopted('fenced', { token: newPlaceholder(), url: 'http://172.30.0.2:3129' });
    const { lines, log } = recordingLog();

    await restoreBroker({ config, brokers, egress: gateways(true).egress, log }, id);

    expect(brokers.has(id.runnerName)).toBe(false);
    expect(lines.filter((l) => l.level === 'warn')).toHaveLength(1);
  });

  it('starts nothing for a job folder without a grant (a copy profile, a launch cut short)', async () => {
    brokers = new JobBrokers(() => config);
    const { relayed, egress } = gateways();
    const { lines, log } = recordingLog();
    const ids = [adopted('copied'), adopted('fenced'), adopted('host')];

    for (const id of ids) await restoreBroker({ config, brokers, egress, log }, id);

    expect(ids.filter((id) => brokers.has(id.runnerName))).toEqual([]);
    expect([...relayed.keys()]).toEqual([]);
    expect(lines).toEqual([]);
  });
});
