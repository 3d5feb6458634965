// GitHub behind the four calls the controller makes. Transient failures (5xx, rate limits with `retry-after` or
// `x-ratelimit-reset`) are retried by Octokit's own retry and throttling plugins, not by hand here.
import { readFile } from 'node:fs/promises';
import { Octokit } from '@octokit/rest';
import { createAppAuth } from '@octokit/auth-app';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import Bottleneck from 'bottleneck';
import type { Config } from '../config/config.js';
import { readSecretRef } from '../config/secret-ref.js';
import type { Logger } from '../observe/logger.js';

export interface JitConfig { runnerId: number; encodedJitConfig: string }
export interface RunnerInfo { id: number; name: string; status: string; busy: boolean }
export interface QueuedJob { id: number; runId: number; labels: string[] }
export type DeleteOutcome = 'deleted' | 'gone' | 'busy';

export interface GitHubApi {
  generateJitConfig(repo: string, body: { name: string; runner_group_id: number; labels: string[]; work_folder: string }): Promise<JitConfig>;
  /** 404 means the runner is already gone; 422 means GitHub refuses because it is running a job. */
  deleteRunner(repo: string, runnerId: number): Promise<DeleteOutcome>;
  listRunners(repo: string): Promise<RunnerInfo[]>;
  /** Jobs still queued in the repo's queued and in-progress runs (a matrix run is in progress while jobs wait). */
  listQueuedJobs(repo: string): Promise<QueuedJob[]>;
}

export interface ApiObserver {
  onCall?(route: string, status: number): void;
  onRateLimitRemaining?(remaining: number): void;
}

export interface GitHubClientOptions {
  /** Milliseconds per unit of retry-after; tests shrink it so a `retry-after: 1` costs 10 ms, not a second. */
  retryAfterBaseValue?: number;
  observer?: ApiObserver;
}

export class GitHubError extends Error {
  constructor(readonly status: number, readonly route: string, readonly repo: string, message: string) {
    super(`GitHub ${status} on ${route} for ${repo}: ${message}`);
  }
}

const MAX_RATE_LIMIT_RETRIES = 3;
const Client = Octokit.plugin(retry, throttling);
type Client = InstanceType<typeof Client>;

// The throttling plugin spaces every write by a second by default; runner registration is not content creation, and
// a burst of queued jobs must not wait N seconds in line. Secondary limits, if hit, still back off on `retry-after`.
const writeGroup = new Bottleneck.Group({ id: 'factory-write', maxConcurrent: 8, minTime: 0 });

function newClient(config: Config, log: Logger, opts: GitHubClientOptions, auth: Record<string, unknown>): Client {
  const base = opts.retryAfterBaseValue ?? 1000;
  const onLimit = (kind: string) => (retryAfter: number, options: { method: string; url: string }, _o: unknown, retryCount: number) => {
    log.warn({ route: `${options.method} ${options.url}`, retryAfter, retryCount }, `GitHub ${kind} rate limit: backing off`);
    return retryCount < MAX_RATE_LIMIT_RETRIES;
  };
  const octokit = new Client({
    baseUrl: config.github.apiUrl,
    userAgent: 'factory-controller',
    ...auth,
    retry: { retryAfterBaseValue: base },
    throttle: { onRateLimit: onLimit('primary'), onSecondaryRateLimit: onLimit('secondary'), retryAfterBaseValue: base, write: writeGroup },
    // Octokit logs every non-2xx at error level, expected 404s on runner deletes included; our own calls say what matters.
    log: { debug: () => {}, info: () => {}, warn: (m: string) => log.warn(m), error: (m: string) => log.debug(m) },
  });
  octokit.hook.wrap('request', async (request, options) => {
    const route = `${options.method} ${options.url}`;
    try {
      const response = await request(options);
      observe(opts.observer, route, response.status, response.headers);
      return response;
    } catch (err) {
      const e = err as { status?: number; response?: { headers?: Record<string, string | number | undefined> } };
      observe(opts.observer, route, e.status ?? 0, e.response?.headers);
      throw err;
    }
  });
  return octokit;
}

function observe(observer: ApiObserver | undefined, route: string, status: number, headers?: Record<string, string | number | undefined>) {
  observer?.onCall?.(route, status);
  const remaining = headers?.['x-ratelimit-remaining'];
  if (remaining !== undefined) observer?.onRateLimitRemaining?.(Number(remaining));
}

/** Resolves the configured auth to a per-repo Octokit: one token, or one GitHub App installation per repo's owner. */
async function clientFactory(config: Config, env: NodeJS.ProcessEnv, log: Logger, opts: GitHubClientOptions) {
  const auth = config.github.auth;
  if ('appId' in auth) {
    const privateKey = await readFile(auth.privateKeyPath, 'utf8').catch((err) => {
      throw new Error(`github.auth.privateKeyPath: cannot read ${auth.privateKeyPath} (${(err as NodeJS.ErrnoException).code})`);
    });
    const app = newClient(config, log, opts, { authStrategy: createAppAuth, auth: { appId: auth.appId, privateKey } });
    const byInstallation = new Map<number, Client>();
    const installationOf = new Map<string, number>();
    return async (repo: string): Promise<Client> => {
      let id = auth.installationId ?? installationOf.get(repo);
      if (id === undefined) {
        const [owner, name] = repo.split('/') as [string, string];
        try {
          id = (await app.rest.apps.getRepoInstallation({ owner, repo: name })).data.id;
        } catch (err) {
          const status = (err as { status?: number }).status ?? 0;
          throw new GitHubError(status, 'GET installation', repo, `${(err as Error).message} (is the App installed on ${repo}, and is privateKeyPath its key?)`);
        }
        installationOf.set(repo, id);
      }
      let client = byInstallation.get(id);
      if (!client) {
        client = newClient(config, log, opts, { authStrategy: createAppAuth, auth: { appId: auth.appId, privateKey, installationId: id } });
        byInstallation.set(id, client);
      }
      return client;
    };
  }
  const token = await readSecretRef({ env: auth.tokenEnv, file: auth.tokenFile }, env, { env: 'github.auth.tokenEnv', file: 'github.auth.tokenFile' });
  const client = newClient(config, log, opts, { auth: token });
  return async () => client;
}

export async function gitHubClient(config: Config, env: NodeJS.ProcessEnv, log: Logger, opts: GitHubClientOptions = {}): Promise<GitHubApi> {
  const clientFor = await clientFactory(config, env, log, opts);
  const split = (repo: string) => {
    const [owner, name] = repo.split('/') as [string, string];
    return { owner, repo: name };
  };
  const wrap = async <T>(repo: string, route: string, call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (err) {
      const e = err as { status?: number; message?: string };
      if (typeof e.status === 'number') throw new GitHubError(e.status, route, repo, e.message ?? 'request failed');
      throw err;
    }
  };

  return {
    async generateJitConfig(repo, body) {
      const gh = await clientFor(repo);
      const { data } = await wrap(repo, 'POST generate-jitconfig', () =>
        gh.rest.actions.generateRunnerJitconfigForRepo({ ...split(repo), ...body }),
      );
      return { runnerId: data.runner.id, encodedJitConfig: data.encoded_jit_config };
    },

    async deleteRunner(repo, runnerId) {
      const gh = await clientFor(repo);
      try {
        await gh.rest.actions.deleteSelfHostedRunnerFromRepo({ ...split(repo), runner_id: runnerId });
        return 'deleted';
      } catch (err) {
        const status = (err as { status?: number }).status;
        if (status === 404) return 'gone';
        if (status === 422) return 'busy';
        throw new GitHubError(status ?? 0, 'DELETE runner', repo, (err as Error).message);
      }
    },

    async listRunners(repo) {
      const gh = await clientFor(repo);
      const runners = await wrap(repo, 'GET runners', () =>
        gh.paginate(gh.rest.actions.listSelfHostedRunnersForRepo, { ...split(repo), per_page: 100 }),
      );
      return runners.map((r) => ({ id: r.id, name: r.name, status: r.status, busy: r.busy }));
    },

    async listQueuedJobs(repo) {
      const gh = await clientFor(repo);
      const jobs: QueuedJob[] = [];
      for (const status of ['queued', 'in_progress'] as const) {
        const runs = await wrap(repo, 'GET runs', () => gh.rest.actions.listWorkflowRunsForRepo({ ...split(repo), status, per_page: 100 }));
        for (const run of runs.data.workflow_runs) {
          const list = await wrap(repo, 'GET run jobs', () =>
            gh.rest.actions.listJobsForWorkflowRun({ ...split(repo), run_id: run.id, filter: 'latest', per_page: 100 }),
          );
          for (const job of list.data.jobs) if (job.status === 'queued') jobs.push({ id: job.id, runId: run.id, labels: job.labels });
        }
      }
      return jobs;
    },
  };
}
