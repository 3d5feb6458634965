// One controller wired to the loopback GitHub stand-in and the real Docker engine, as the demo runs it, with the
// knobs the end-to-end tests turn. Each harness works on its own repo name so parallel test files never touch
// each other's containers.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { configSchema, type Config } from '../../controller/config/config.js';
import { silentLogger, type Logger } from '../../controller/observe/logger.js';
import { startService, type Service } from '../../controller/daemon/service.js';
import type { Engine } from '../../controller/docker/docker-engine.js';
import { engineFor } from '../../controller/docker/engine-for.js';
import { GitHubStandin } from '../../controller/github/standin/github-standin.js';
import { LABEL } from '../../controller/model/runner.js';
import { STANDIN_IMAGE } from '../../controller/commands/demo.js';
import type { JobObserver, JobStage } from '../../controller/model/job.js';
import { assertRequest, assertResponse } from './openapi.js';

export const docker = new Docker({ socketPath: '/var/run/docker.sock' });
export const CI_LABELS = ['self-hosted', 'factory', 'ci'];

export type Backend = 'docker' | 'swarm';

export interface HarnessOptions {
  repo?: string;
  /** Swarm needs the engine to be a manager first (test/support/swarm.ts). */
  backend?: Backend;
  jobSeconds?: number;
  config?: Record<string, unknown>;
  profile?: Record<string, unknown>;
  /** Wraps the real Docker engine, to inject a fault at an exact call. */
  wrapEngine?: (engine: Engine) => Engine;
  /** More profiles on the same repo, listed after `ci`. */
  extraProfiles?: Record<string, Record<string, unknown>>;
  repoMaxConcurrent?: number;
  socketPath?: string;
  log?: Logger;
  standin?: GitHubStandin;
  /** The controller's clock. */
  now?: () => number;
  /** Org entries; with them the harness's own repo entry is left out unless `repoEntry` says otherwise. */
  orgs?: Array<Record<string, unknown>>;
  repoEntry?: boolean;
  /** How often the controller looks up busy lane runners whose in_progress never came. */
  assignmentPollMs?: number;
  /** Resolvers the egress gateways ask (a container on a network the test made); unset, the engine's. */
  egressDns?: string[];
}

export interface Harness {
  repo: string;
  config: Config;
  github: GitHubStandin;
  service: Service;
  stages: Array<{ jobId: number; stage: JobStage }>;
  containers(all?: boolean): Promise<Docker.ContainerInfo[]>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export function uniqueRepo(prefix: string): string {
  return `factory-test/${prefix}-${randomBytes(3).toString('hex')}`;
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const repo = opts.repo ?? uniqueRepo('e2e');
  const github = opts.standin ?? new GitHubStandin({ jobSeconds: opts.jobSeconds ?? 1 });
  if (!opts.standin) await github.start();
  const env = { GH_TOKEN: 'ghs_' + randomBytes(12).toString('hex'), WEBHOOK_SECRET: randomBytes(16).toString('hex') };
  // Each harness keeps its timeline (and lane folders) in its own folder, and its status endpoint on a free port.
  const stateDir = mkdtempSync(join(tmpdir(), 'factory-state-'));
  // A scale-set controller is configured as one is in production: without a webhook.
  const webhook =
    opts.config?.intake === 'scaleset'
      ? {}
      : { webhook: { host: '127.0.0.1', port: 0, secret: { env: 'WEBHOOK_SECRET' } } };
  const config = configSchema.parse({
    github: { apiUrl: github.url, auth: { tokenEnv: 'GH_TOKEN' }, ...webhook },
    backend: opts.backend ?? 'docker',
    docker: { socketPath: opts.socketPath ?? '/var/run/docker.sock' },
    instance: `test-${randomBytes(4).toString('hex')}`,
    reconcileInterval: '1h',
    stateDir,
    status: { port: 0 },
    ...opts.config,
    // Trusted only for host networking: the stand-in runner reaches the stand-in GitHub on loopback.
    profiles: {
      ci: {
        labels: CI_LABELS,
        image: STANDIN_IMAGE,
        cpus: 0.5,
        memory: '64m',
        pids: 64,
        network: 'host',
        trusted: true,
        ...opts.profile,
      },
      ...opts.extraProfiles,
    },
    repos:
      opts.repoEntry === false || (opts.orgs && opts.repoEntry !== true)
        ? []
        : [
            {
              repo,
              profiles: ['ci', ...Object.keys(opts.extraProfiles ?? {})],
              maxConcurrent: opts.repoMaxConcurrent ?? 4,
            },
          ],
    orgs: opts.orgs ?? [],
  });
  const stages: Harness['stages'] = [];
  const observer: JobObserver = { stage: (jobId, stage) => void stages.push({ jobId, stage }) };
  const start = async () => {
    const engine = opts.wrapEngine?.(engineFor(config));
    const service = await startService({
      engine,
      config,
      log: opts.log ?? silentLogger(),
      env,
      observer,
      githubOptions: { retryAfterBaseValue: 10 },
      maxDockerBackoffMs: 200,
      ...(opts.now ? { now: opts.now } : {}),
      assignmentPollMs: opts.assignmentPollMs ?? 1_000,
      scaleSetRetryMs: { first: 50, max: 500 },
      ...(opts.egressDns ? { egressDns: opts.egressDns } : {}),
    });
    // With `intake: scaleset` there is no port to deliver to: the stand-in sends no webhooks then.
    if (service.url)
      github.setWebhook({ url: `${service.url}${config.github.webhook!.path}`, secret: env.WEBHOOK_SECRET });
    return service;
  };
  const harness: Harness = {
    repo,
    config,
    github,
    service: await start(),
    stages,
    async containers(all = true) {
      // An org entry's jobs come from the org's repos: its containers are found by instance.
      const label = opts.orgs ? `${LABEL.instance}=${config.instance}` : `${LABEL.repo}=${repo}`;
      return docker.listContainers({ all, filters: JSON.stringify({ label: [label] }) });
    },
    async restart() {
      await harness.service.stop();
      harness.service = await start();
    },
    async stop() {
      await harness.service.stop();
      await removeJobServices(repo);
      for (const c of await harness.containers())
        await docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => {});
      if (!opts.standin) await github.stop();
      rmSync(stateDir, { recursive: true, force: true });
      // Every test's GitHub traffic keeps GitHub's documented shapes, not only the tests that say so.
      assertExchangesMatchOpenApi(github);
    },
  };
  return harness;
}

/** The swarm services and secrets of one test repo (none on the docker backend, or when the engine is no manager). */
export async function removeJobServices(repo: string): Promise<void> {
  const filters = JSON.stringify({ label: [`${LABEL.repo}=${repo}`] });
  const services = (await docker.listServices({ filters }).catch(() => [])) as Array<{ ID: string }>;
  for (const s of services)
    await docker
      .getService(s.ID)
      .remove()
      .catch(() => {});
  const secrets = (await docker.listSecrets({ filters }).catch(() => [])) as Array<{ ID: string }>;
  for (const s of secrets)
    await docker
      .getSecret(s.ID)
      .remove()
      .catch(() => {});
}

/** Every request the controller made and every answer the stand-in gave, checked against GitHub's OpenAPI description. */
export function assertExchangesMatchOpenApi(github: GitHubStandin): void {
  for (const x of github.exchanges) {
    assertRequest(x.method, x.path, x.requestBody);
    // Injected faults (502, rate limits) are statuses GitHub sends but does not document per operation.
    if (!x.injected) assertResponse(x.method, x.path, x.status, x.responseBody);
  }
}

/** Polls a condition that an outside process (Docker, the stand-in runner) makes true; fails with `what` on timeout. */
export async function waitFor<T>(
  what: string,
  check: () => T | Promise<T>,
  timeoutMs = 20_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
