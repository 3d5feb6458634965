// The controller as production runs it: `node bin/factory.js controller --config F` in its own process (so its
// memory is its own), pointed at the loopback GitHub stand-in that lives in the benchmark's process.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { GitHubStandin } from '../controller/github/standin/github-standin.js';
import type { StatusSnapshot } from '../controller/status/status-snapshot.js';

export const BENCH_IMAGE = 'factory-test/runner:1';
export const CI_LABELS = ['self-hosted', 'factory', 'ci'];

export interface ControllerProcess {
  pid: number;
  instance: string;
  repo: string;
  /** The factory.yml it runs with. */
  configFile: string;
  statusUrl: string;
  /** Resident set size of the controller process, from /proc. */
  rssBytes(): number;
  status(): Promise<StatusSnapshot>;
  /**
   * SIGTERM, then removes every container of its instance: production leaves job containers for the next start to
   * adopt, but a benchmark that failed half-way must not leave its runners behind.
   */
  stop(): Promise<void>;
}

export interface ControllerProcessOptions {
  docker: Docker;
  standin: GitHubStandin;
  dir: string;
  name: string;
  maxConcurrent: number;
  /** The engine behind the job containers (the engine must be a swarm manager for `swarm`). */
  backend?: 'docker' | 'swarm';
  /** A warm pool of this many runners on the profile. */
  warm?: number;
  /** Profiles instead of the one `ci` profile: each name and its YAML flow mapping. */
  profiles?: Record<string, string>;
  /** The profile is a codex lane with a login (a stand-in auth.json under `dir`), taken at each job's release. */
  lane?: boolean;
  /** How jobs reach it: the stand-in's webhook deliveries (default), or its runner scale sets with no webhook at all. */
  intake?: 'webhook' | 'scaleset';
}

/** The lane profile's extra fields: its agent and the login its release takes. */
function laneFields(o: ControllerProcessOptions): string {
  if (!o.lane) return '';
  const codex = join(o.dir, `${o.name}-codex`);
  mkdirSync(codex, { recursive: true });
  writeFileSync(join(codex, 'auth.json'), '{"tokens":{"access_token":"at-bench","refresh_token":"rt-bench"}}', {
    mode: 0o600,
  });
  return `, lane: codex, mounts: [{ kind: auth, agent: codex, source: ${codex} }]`;
}

function configYaml(o: ControllerProcessOptions, instance: string, repo: string): string {
  return [
    'github:',
    `  apiUrl: ${o.standin.url}`,
    '  auth: { tokenEnv: FACTORY_GITHUB_TOKEN }',
    ...(o.intake === 'scaleset'
      ? ['intake: scaleset']
      : ['  webhook: { host: 127.0.0.1, port: 0, path: /webhook, secret: { env: FACTORY_WEBHOOK_SECRET } }']),
    `backend: ${o.backend ?? 'docker'}`,
    `instance: ${instance}`,
    `maxConcurrent: ${o.maxConcurrent}`,
    'reconcileInterval: 1h',
    `stateDir: ${join(o.dir, 'state')}`,
    'status: { host: 127.0.0.1, port: 0 }',
    'profiles:',
    // The profile the end-to-end tests use: host networking so the stand-in runner reaches the loopback stand-in.
    ...Object.entries(
      o.profiles ?? {
        ci: `{ labels: [${CI_LABELS.join(', ')}], image: ${BENCH_IMAGE}, cpus: 0.5, memory: 64m, pids: 64, network: host, trusted: true${o.warm ? `, warm: { min: ${o.warm}, idleTimeout: 30m }` : ''}${laneFields(o)} }`,
      },
    ).map(([name, yaml]) => `  ${name}: ${yaml}`),
    'repos:',
    `  - { repo: ${repo}, profiles: [${Object.keys(o.profiles ?? { ci: '' }).join(', ')}], maxConcurrent: ${o.maxConcurrent} }`,
    '',
  ].join('\n');
}

/**
 * Starts the controller and resolves once its intake (the webhook endpoint, or the scale sets' listeners) and its
 * status endpoint are up (read from its JSON log).
 */
export async function startControllerProcess(o: ControllerProcessOptions): Promise<ControllerProcess> {
  const instance = `bench-${o.name}-${randomBytes(3).toString('hex')}`;
  const repo = `factory-bench/${o.name}-${randomBytes(3).toString('hex')}`;
  mkdirSync(o.dir, { recursive: true });
  const configFile = join(o.dir, `${o.name}.yml`);
  writeFileSync(configFile, configYaml(o, instance, repo));
  const secret = randomBytes(16).toString('hex');
  const child: ChildProcess = spawn(process.execPath, ['bin/factory.js', 'controller', '--config', configFile], {
    env: {
      ...process.env,
      FACTORY_GITHUB_TOKEN: 'ghs_' + randomBytes(18).toString('hex'),
      FACTORY_WEBHOOK_SECRET: secret,
      FACTORY_LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(join(o.dir, `${o.name}.controller.log`));
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);

  const scaleSets = o.intake === 'scaleset';
  const urls = await new Promise<{ webhook: string; status: string }>((resolve, reject) => {
    let buffered = '';
    let webhook: string | undefined;
    let status: string | undefined;
    const timer = setTimeout(() => {
      child.kill('SIGKILL'); // not left running behind a failed benchmark
      reject(new Error(`controller ${instance} did not start within 30 s; see ${o.dir}/${o.name}.controller.log`));
    }, 30_000);
    child.once('exit', (code) =>
      reject(
        new Error(`controller ${instance} exited with ${code} before listening; see ${o.dir}/${o.name}.controller.log`),
      ),
    );
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        try {
          const entry = JSON.parse(line) as { msg?: string; url?: string };
          if (entry.msg === 'controller listening for webhooks') webhook = entry.url;
          if (entry.msg === 'controller listening to runner scale sets (no inbound port)') webhook = '';
          if (entry.msg?.startsWith('status endpoint listening')) status = entry.url;
        } catch {
          // not a log line
        }
        if (webhook !== undefined && status) {
          clearTimeout(timer);
          resolve({ webhook, status });
        }
      }
    });
  });
  // A scale-set controller has no endpoint: the stand-in keeps delivering to whichever webhook it was given, if any.
  if (!scaleSets) o.standin.setWebhook({ url: `${urls.webhook}/webhook`, secret });

  return {
    pid: child.pid!,
    instance,
    repo,
    configFile,
    statusUrl: urls.status,
    rssBytes() {
      const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1];
      return Number(kb) * 1024;
    },
    async status() {
      return (await (await fetch(`${urls.status}/status`)).json()) as StatusSnapshot;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      log.end();
      const ours = JSON.stringify({ label: [`factory.instance=${instance}`] });
      const services = (await o.docker.listServices({ filters: ours }).catch(() => [])) as Array<{ ID: string }>;
      await Promise.all(
        services.map((sv) =>
          o.docker
            .getService(sv.ID)
            .remove()
            .catch(() => {}),
        ),
      );
      const secrets = (await o.docker.listSecrets({ filters: ours }).catch(() => [])) as Array<{ ID: string }>;
      await Promise.all(
        secrets.map((sc) =>
          o.docker
            .getSecret(sc.ID)
            .remove()
            .catch(() => {}),
        ),
      );
      const left = await o.docker.listContainers({
        all: true,
        filters: JSON.stringify({ label: [`factory.instance=${instance}`] }),
      });
      await Promise.all(
        left.map((c) =>
          o.docker
            .getContainer(c.Id)
            .remove({ force: true })
            .catch(() => {}),
        ),
      );
    },
  };
}

/** A fresh stand-in and a controller pointed at it; `stop()` stops the controller (and its containers), then the stand-in. */
export async function startBenchRun(
  o: Omit<ControllerProcessOptions, 'standin'> & { jobSeconds: number },
): Promise<ControllerProcess & { standin: GitHubStandin }> {
  const standin = new GitHubStandin({ jobSeconds: o.jobSeconds });
  await standin.start();
  let controller: ControllerProcess;
  try {
    controller = await startControllerProcess({ ...o, standin });
  } catch (err) {
    await standin.stop();
    throw err;
  }
  return {
    ...controller,
    standin,
    async stop() {
      await controller.stop();
      await standin.stop();
    },
  };
}
