// GitHub behind the calls the controller makes: four at a repo, and their org-level counterparts (with the org's
// repos and runner groups) under `org`. Transient failures (5xx, rate limits with `retry-after` or
// `x-ratelimit-reset`) are retried by Octokit's own retry and throttling plugins, not by hand here; the JIT
// registration, on every cold pickup's path, takes the same policy without the plugins' queues (request-retry.ts).
import { readFile } from 'node:fs/promises';
import { Octokit } from '@octokit/rest';
import { createAppAuth } from '@octokit/auth-app';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import Bottleneck from 'bottleneck';
import type { Config } from '../config/config.js';
import { readSecretRef } from '../config/secret-ref.js';
import type { ApiObserver, GitHubState } from '../model/api-observer.js';
import type { Logger } from '../observe/logger.js';
import {
  certificateFailure,
  classifyFailure,
  networkCode,
  proxyRefusal,
  stateOf,
  type GitHubErrorKind,
} from './github-errors.js';
import { describeProxy, proxiedFetch, proxySettings } from './github-proxy.js';
import { retryInPlace } from './request-retry.js';
import { errorMessage } from '../util/error-message.js';

export interface JitConfig {
  runnerId: number;
  encodedJitConfig: string;
}
export interface RunnerInfo {
  id: number;
  name: string;
  status: string;
  busy: boolean;
}
export interface QueuedJob {
  id: number;
  runId: number;
  labels: string[];
}
export type DeleteOutcome = 'deleted' | 'gone' | 'busy';
export interface OrgRepo {
  fullName: string;
  private: boolean;
  archived: boolean;
}
export interface RunnerGroup {
  id: number;
  name: string;
  /** all | selected | private (private repositories only). */
  visibility: string;
  allowsPublicRepositories: boolean;
}

/** The organisation's side: org-level runners (`/orgs/{org}/actions/runners`), its repos and its runner groups. */
export interface OrgApi {
  generateJitConfig(
    org: string,
    body: { name: string; runner_group_id: number; labels: string[]; work_folder: string },
  ): Promise<JitConfig>;
  deleteRunner(org: string, runnerId: number): Promise<DeleteOutcome>;
  listRunners(org: string): Promise<RunnerInfo[]>;
  /** The org's repos this credential can see. */
  listRepos(org: string): Promise<OrgRepo[]>;
  listRunnerGroups(org: string): Promise<RunnerGroup[]>;
  /** Full names of the repos a `selected` group admits. */
  listRunnerGroupRepos(org: string, groupId: number): Promise<string[]>;
  /** A one-hour runner registration token for the org (what the scale-set client trades for the Actions service). */
  registrationToken?(org: string): Promise<RegistrationToken>;
}
export interface RegistrationToken {
  token: string;
  expiresAt: string;
}

/** A job a runner is running, as the in-progress runs list it. */
export interface RunningJob {
  id: number;
  runId: number;
  labels: string[];
  runnerName: string | null;
}
/** What decides whether a workflow run may use a lane: the event that started it and where its code comes from. */
export interface WorkflowRunFacts {
  id: number;
  event: string;
  /** The repository the run belongs to. */
  repo: string;
  /** The repository its head commit comes from: another one for a fork's pull request; null when GitHub has none. */
  headRepo: string | null;
  /** Who started the run, and who started this attempt (a re-run); GitHub treats a run Dependabot started as untrusted. */
  actor: string | null;
  triggeringActor: string | null;
}

export interface GitHubApi {
  generateJitConfig(
    repo: string,
    body: { name: string; runner_group_id: number; labels: string[]; work_folder: string },
  ): Promise<JitConfig>;
  /** 404 means the runner is already gone; 422 means GitHub refuses because it is running a job. */
  deleteRunner(repo: string, runnerId: number): Promise<DeleteOutcome>;
  listRunners(repo: string): Promise<RunnerInfo[]>;
  /** Jobs still queued in the repo's queued and in-progress runs (a matrix run is in progress while jobs wait). */
  listQueuedJobs(repo: string): Promise<QueuedJob[]>;
  /** Org scope; a client without it serves repo entries only. */
  org?: OrgApi;
  /** Jobs in progress in the repo's in-progress runs, with the runner each runs on. */
  listRunningJobs(repo: string): Promise<RunningJob[]>;
  getWorkflowRun(repo: string, runId: number): Promise<WorkflowRunFacts>;
  /** The repo's workflow files (.github/workflows/*.yml on the default branch); none when the folder is missing. */
  listWorkflowFiles?(repo: string): Promise<WorkflowFile[]>;
  /** One file at a ref (a reusable workflow a caller names as `owner/repo/path@ref`); undefined when either is missing. */
  readFile?(repo: string, path: string, ref: string): Promise<string | undefined>;
  /** The version of GitHub's latest actions/runner release ("2.330.0"), for doctor's runner version check. */
  latestRunnerVersion?(): Promise<string>;
  /** A one-hour runner registration token for the repo (what the scale-set client trades for the Actions service). */
  registrationToken?(repo: string): Promise<RegistrationToken>;
}

export interface WorkflowFile {
  path: string;
  text: string;
}

export interface GitHubClientOptions {
  /** Milliseconds per unit of retry-after; tests shrink it so a `retry-after: 1` costs 10 ms, not a second. */
  retryAfterBaseValue?: number;
  observer?: ApiObserver;
}

export class GitHubError extends Error {
  readonly kind: GitHubErrorKind;
  constructor(
    readonly status: number,
    readonly route: string,
    readonly repo: string,
    message: string,
    kind?: GitHubErrorKind,
  ) {
    super(`GitHub ${status === 0 ? 'unreachable' : status} on ${route} for ${repo}: ${message}`);
    this.kind = kind ?? classifyFailure(status, undefined, message);
  }
}

type HttpError = {
  status?: number;
  message?: string;
  response?: { headers?: Record<string, string | number | undefined> };
};

/** Octokit reports a request that got no answer as status 500 without a response; that is status 0 here. */
export function toGitHubError(err: unknown, route: string, repo: string): GitHubError | undefined {
  const e = err as HttpError;
  if (typeof e?.status !== 'number') return undefined;
  const answered = e.response !== undefined;
  const status = answered ? e.status : 0;
  const untrusted = answered ? undefined : certificateFailure(err);
  if (untrusted) return new GitHubError(0, route, repo, untrusted, 'certificate');
  const message = answered
    ? (e.message ?? 'request failed')
    : (proxyRefusal(err) ?? `${networkCode(err) ?? 'no answer'} (${e.message ?? 'request failed'})`);
  return new GitHubError(status, route, repo, message, classifyFailure(status, e.response?.headers, message));
}

const MAX_RATE_LIMIT_RETRIES = 3;
const Client = Octokit.plugin(retry, throttling);
type Client = InstanceType<typeof Client>;
/** A client for every call, and its lean twin for the JIT registration: one auth between them, so one token cache. */
interface Clients {
  api: Client;
  jit: Octokit;
}

// The throttling plugin spaces every write by a second by default; runner registration is not content creation, and
// a burst of queued jobs must not wait N seconds in line. Secondary limits, if hit, still back off on `retry-after`.
const writeGroup = new Bottleneck.Group({ id: 'factory-write', maxConcurrent: 8, minTime: 0 });

function newClients(
  config: Config,
  log: Logger,
  opts: GitHubClientOptions,
  fetcher: typeof fetch,
  auth: Record<string, unknown>,
): Clients {
  const base = opts.retryAfterBaseValue ?? 1000;
  const onLimit = (kind: string, retryAfter: number, options: { method: string; url: string }, retryCount: number) => {
    log.warn(
      { route: `${options.method} ${options.url}`, retryAfter, retryCount },
      `GitHub ${kind} rate limit: backing off`,
    );
    return retryCount < MAX_RATE_LIMIT_RETRIES;
  };
  const common = {
    baseUrl: config.github.apiUrl,
    userAgent: 'factory-controller',
    // Observed at fetch, inside Octokit's retry, throttling and App auth: every exchange is seen, retries included.
    request: { fetch: observedFetch(config.github.apiUrl, opts.observer, fetcher) },
    // Octokit logs every non-2xx at error level, expected 404s on runner deletes included; our own calls say what matters.
    log: { debug: () => {}, info: () => {}, warn: (m: string) => log.warn(m), error: (m: string) => log.debug(m) },
  };
  const api = new Client({
    ...common,
    ...auth,
    retry: { retryAfterBaseValue: base },
    throttle: {
      onRateLimit: (after: number, o: { method: string; url: string }, _: unknown, n: number) =>
        onLimit('primary', after, o, n),
      onSecondaryRateLimit: (after: number, o: { method: string; url: string }, _: unknown, n: number) =>
        onLimit('secondary', after, o, n),
      retryAfterBaseValue: base,
      write: writeGroup,
    },
  });
  // The api client's own auth (its hook and token cache), so a refreshed installation token serves both.
  const jit = new Octokit({ ...common, authStrategy: () => api.auth });
  retryInPlace(jit, { retryAfterBaseValue: base, onRateLimit: onLimit });
  return { api, jit };
}

/** `GET /repos/{owner}/{repo}/actions/runners/{id}`: a route as a metric label, without names, ids or pages. */
export function apiRoute(method: string, url: URL, apiUrl: string): string {
  const prefix = new URL(apiUrl).pathname.replace(/\/+$/, '');
  const path = prefix && url.pathname.startsWith(`${prefix}/`) ? url.pathname.slice(prefix.length) : url.pathname;
  const template = path
    .replace(/^\/repos\/[^/]+\/[^/]+/, '/repos/{owner}/{repo}')
    .replace(/^\/orgs\/[^/]+/, '/orgs/{org}')
    .replace(/^\/repositories\/\d+/, '/repositories/{repository_id}')
    .replace(/\/\d+(?=\/|$)/g, '/{id}');
  return `${method.toUpperCase()} ${template}`;
}

function observedFetch(apiUrl: string, observer: ApiObserver | undefined, fetcher: typeof fetch): typeof fetch {
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const route = apiRoute(init?.method ?? (input instanceof Request ? input.method : 'GET'), url, apiUrl);
    let response: Response;
    try {
      response = await fetcher(input, init);
    } catch (err) {
      observer?.onCall?.(route, 0);
      throw err;
    }
    observer?.onCall?.(route, response.status);
    const remaining = response.headers.get('x-ratelimit-remaining');
    if (remaining !== null) observer?.onRateLimitRemaining?.(Number(remaining));
    return response;
  };
}

/** `target` is a repo ("owner/name") or an organisation ("owner", no slash): the App installs on either. */
interface ClientSource {
  clientFor(target: string): Promise<Client>;
  /** The lean client for the JIT registration, on the same credential as clientFor's. */
  jitClientFor(target: string): Promise<Octokit>;
  /** Replaces a cached App installation token; false when there is none to replace (a plain token). */
  refresh(repo: string): Promise<boolean>;
}

/** Resolves the configured auth to a per-repo Octokit: one token, or one GitHub App installation per repo's owner. */
async function clientFactory(
  config: Config,
  env: NodeJS.ProcessEnv,
  log: Logger,
  opts: GitHubClientOptions,
): Promise<ClientSource> {
  const auth = config.github.auth;
  // App token requests, REST calls and the doctor's checks all go through this one fetch, proxied or not.
  const proxy = proxySettings(env);
  if (proxy) log.info({ proxy: describeProxy(proxy) }, 'GitHub requests go through a proxy');
  const fetcher = proxiedFetch(proxy);
  if ('appId' in auth) {
    const privateKey = await readFile(auth.privateKeyPath, 'utf8').catch((err) => {
      throw new Error(
        `github.auth.privateKeyPath: cannot read ${auth.privateKeyPath} (${(err as NodeJS.ErrnoException).code})`,
      );
    });
    const app = newClients(config, log, opts, fetcher, {
      authStrategy: createAppAuth,
      auth: { appId: auth.appId, privateKey },
    }).api;
    const byInstallation = new Map<number, Clients>();
    const installationOf = new Map<string, number>();
    const clientsFor = async (repo: string): Promise<Clients> => {
      let id = auth.installationId ?? installationOf.get(repo);
      if (id === undefined) {
        const [owner, name] = repo.split('/') as [string, string | undefined];
        try {
          id = (
            name === undefined
              ? await app.rest.apps.getOrgInstallation({ org: owner })
              : await app.rest.apps.getRepoInstallation({ owner, repo: name })
          ).data.id;
        } catch (err) {
          const e = toGitHubError(err, 'GET installation', repo);
          if (!e || e.kind === 'unreachable' || e.kind === 'certificate' || e.kind === 'rate_limited') throw e ?? err;
          throw new GitHubError(
            e.status,
            e.route,
            repo,
            `${errorMessage(err)} (is the App installed on ${repo}, and is privateKeyPath its key?)`,
            e.kind,
          );
        }
        installationOf.set(repo, id);
      }
      let clients = byInstallation.get(id);
      if (!clients) {
        clients = newClients(config, log, opts, fetcher, {
          authStrategy: createAppAuth,
          auth: { appId: auth.appId, privateKey, installationId: id },
        });
        byInstallation.set(id, clients);
      }
      return clients;
    };
    const refresh = async (repo: string) => {
      const { api } = await clientsFor(repo);
      await api.auth({ type: 'installation', refresh: true });
      return true;
    };
    return {
      clientFor: async (repo) => (await clientsFor(repo)).api,
      jitClientFor: async (repo) => (await clientsFor(repo)).jit,
      refresh,
    };
  }
  const token = await readSecretRef({ env: auth.tokenEnv, file: auth.tokenFile }, env, {
    env: 'github.auth.tokenEnv',
    file: 'github.auth.tokenFile',
  });
  const { api, jit } = newClients(config, log, opts, fetcher, { auth: token });
  return { clientFor: async () => api, jitClientFor: async () => jit, refresh: async () => false };
}

export async function gitHubClient(
  config: Config,
  env: NodeJS.ProcessEnv,
  log: Logger,
  opts: GitHubClientOptions = {},
): Promise<GitHubApi> {
  const source = await clientFactory(config, env, log, opts);
  const { clientFor, jitClientFor } = source;
  const split = (repo: string) => {
    const [owner, name] = repo.split('/') as [string, string];
    return { owner, repo: name };
  };
  const report = (repo: string, state: GitHubState, error?: string) => opts.observer?.onResult?.(repo, state, error);
  /** One call of the API: its failure as a GitHubError with its kind, and its outcome reported as the repo's health. */
  const wrap = async <T>(
    repo: string,
    route: string,
    call: () => Promise<T>,
    expected: readonly number[] = [],
    refreshed = false,
  ): Promise<T> => {
    try {
      const result = await call();
      report(repo, 'ok');
      return result;
    } catch (err) {
      const e = err instanceof GitHubError ? err : toGitHubError(err, route, repo);
      if (!e) throw err;
      // An installation token revoked before its hour is up (the App's permissions changed, the key rotated) stays
      // in Octokit's cache for up to 59 minutes; fetch a new one once before calling the credential bad.
      if (
        e.kind === 'unauthorised' &&
        !refreshed &&
        e.route !== 'GET installation' &&
        (await source.refresh(repo).catch(() => false))
      ) {
        return wrap(repo, route, call, expected, true);
      }
      report(repo, expected.includes(e.status) ? 'ok' : stateOf(e.kind), e.message);
      throw e;
    }
  };
  return {
    async latestRunnerVersion() {
      // A public repo's release: any of the configured credentials may read it; not a configured repo's health.
      const target = config.repos[0]?.repo ?? config.orgs[0]?.name;
      if (target === undefined) throw new Error('no repo or org is configured to ask GitHub with');
      const gh = await clientFor(target);
      const { data } = await gh.rest.repos.getLatestRelease({ owner: 'actions', repo: 'runner' });
      return data.tag_name.replace(/^v/, '');
    },

    async generateJitConfig(repo, body) {
      const { data } = await wrap(repo, 'POST generate-jitconfig', async () =>
        (await jitClientFor(repo)).rest.actions.generateRunnerJitconfigForRepo({ ...split(repo), ...body }),
      );
      return { runnerId: data.runner.id, encodedJitConfig: data.encoded_jit_config };
    },

    async registrationToken(repo) {
      const { data } = await wrap(repo, 'POST registration-token', async () =>
        (await clientFor(repo)).rest.actions.createRegistrationTokenForRepo(split(repo)),
      );
      return { token: data.token, expiresAt: data.expires_at };
    },

    async deleteRunner(repo, runnerId) {
      return deleteOutcome(() =>
        wrap(
          repo,
          'DELETE runner',
          async () =>
            (await clientFor(repo)).rest.actions.deleteSelfHostedRunnerFromRepo({
              ...split(repo),
              runner_id: runnerId,
            }),
          [404, 422],
        ),
      );
    },

    async listRunners(repo) {
      const runners = await wrap(repo, 'GET runners', async () => {
        const gh = await clientFor(repo);
        return gh.paginate(gh.rest.actions.listSelfHostedRunnersForRepo, { ...split(repo), per_page: 100 });
      });
      return runners.map((r) => ({ id: r.id, name: r.name, status: r.status, busy: r.busy }));
    },

    async listQueuedJobs(repo) {
      const jobs: QueuedJob[] = [];
      for (const status of ['queued', 'in_progress'] as const)
        for (const job of await jobsOfRuns(repo, status))
          if (job.status === 'queued') jobs.push({ id: job.id, runId: job.run_id, labels: job.labels });
      return jobs;
    },

    org: {
      async generateJitConfig(org, body) {
        const { data } = await wrap(org, 'POST org generate-jitconfig', async () =>
          (await jitClientFor(org)).rest.actions.generateRunnerJitconfigForOrg({ org, ...body }),
        );
        return { runnerId: data.runner.id, encodedJitConfig: data.encoded_jit_config };
      },

      async registrationToken(org) {
        const { data } = await wrap(org, 'POST org registration-token', async () =>
          (await clientFor(org)).rest.actions.createRegistrationTokenForOrg({ org }),
        );
        return { token: data.token, expiresAt: data.expires_at };
      },

      async deleteRunner(org, runnerId) {
        return deleteOutcome(() =>
          wrap(
            org,
            'DELETE org runner',
            async () => (await clientFor(org)).rest.actions.deleteSelfHostedRunnerFromOrg({ org, runner_id: runnerId }),
            [404, 422],
          ),
        );
      },

      async listRunners(org) {
        const runners = await wrap(org, 'GET org runners', async () => {
          const gh = await clientFor(org);
          return gh.paginate(gh.rest.actions.listSelfHostedRunnersForOrg, { org, per_page: 100 });
        });
        return runners.map((r) => ({ id: r.id, name: r.name, status: r.status, busy: r.busy }));
      },

      async listRepos(org) {
        const repos = await wrap(org, 'GET org repos', async () => {
          const gh = await clientFor(org);
          return gh.paginate(gh.rest.repos.listForOrg, { org, type: 'all', per_page: 100 });
        });
        return repos.map((r) => ({ fullName: r.full_name, private: r.private, archived: r.archived === true }));
      },

      async listRunnerGroups(org) {
        // Octokit's generated methods lack the org runner-group routes; the documented route is called by name.
        const groups = await wrap(org, 'GET org runner-groups', async () => {
          const gh = await clientFor(org);
          return gh.paginate<RawGroup>('GET /orgs/{org}/actions/runner-groups', { org, per_page: 100 });
        });
        return groups.map((g) => ({
          id: g.id,
          name: g.name,
          visibility: g.visibility,
          allowsPublicRepositories: g.allows_public_repositories !== false,
        }));
      },

      async listRunnerGroupRepos(org, groupId) {
        const repos = await wrap(org, 'GET org runner-group repositories', async () => {
          const gh = await clientFor(org);
          return gh.paginate<{ full_name: string }>(
            'GET /orgs/{org}/actions/runner-groups/{runner_group_id}/repositories',
            {
              org,
              runner_group_id: groupId,
              per_page: 100,
            },
          );
        });
        return repos.map((r) => r.full_name);
      },
    },

    async listRunningJobs(repo) {
      return (await jobsOfRuns(repo, 'in_progress'))
        .filter((job) => job.status === 'in_progress')
        .map((job) => ({ id: job.id, runId: job.run_id, labels: job.labels, runnerName: job.runner_name ?? null }));
    },

    async getWorkflowRun(repo, runId) {
      const { data } = await wrap(repo, 'GET run', async () =>
        (await clientFor(repo)).rest.actions.getWorkflowRun({ ...split(repo), run_id: runId }),
      );
      return {
        id: data.id,
        event: data.event,
        repo: data.repository.full_name,
        headRepo: data.head_repository?.full_name ?? null,
        actor: data.actor?.login ?? null,
        triggeringActor: data.triggering_actor?.login ?? null,
      };
    },

    async listWorkflowFiles(repo) {
      const read = (path: string) =>
        wrap(
          repo,
          'GET contents',
          async () => (await clientFor(repo)).rest.repos.getContent({ ...split(repo), path }),
          [404],
        );
      let listing;
      try {
        listing = (await read('.github/workflows')).data;
      } catch (err) {
        if ((err as GitHubError).status === 404) return [];
        throw err;
      }
      const files: WorkflowFile[] = [];
      for (const entry of Array.isArray(listing) ? listing : []) {
        if (entry.type !== 'file' || !/\.ya?ml$/.test(entry.name)) continue;
        const { data } = await read(entry.path);
        if (!Array.isArray(data) && data.type === 'file' && 'content' in data)
          files.push({ path: entry.path, text: Buffer.from(data.content, 'base64').toString('utf8') });
      }
      return files;
    },
    async readFile(repo, path, ref) {
      try {
        const { data } = await wrap(
          repo,
          'GET contents',
          async () => (await clientFor(repo)).rest.repos.getContent({ ...split(repo), path, ref }),
          [404],
        );
        return !Array.isArray(data) && data.type === 'file' && 'content' in data
          ? Buffer.from(data.content, 'base64').toString('utf8')
          : undefined;
      } catch (err) {
        if ((err as GitHubError).status === 404) return undefined;
        throw err;
      }
    },
  };

  /** Every job of the repo's runs in one status; every page (a busy repo has over 100 runs, a wide matrix over 100 jobs). */
  async function jobsOfRuns(repo: string, status: 'queued' | 'in_progress') {
    const runs = await wrap(repo, 'GET runs', async () => {
      const gh = await clientFor(repo);
      return gh.paginate(gh.rest.actions.listWorkflowRunsForRepo, { ...split(repo), status, per_page: 100 });
    });
    const jobs = [];
    for (const run of runs)
      jobs.push(
        ...(await wrap(repo, 'GET run jobs', async () => {
          const gh = await clientFor(repo);
          return gh.paginate(gh.rest.actions.listJobsForWorkflowRun, {
            ...split(repo),
            run_id: run.id,
            filter: 'latest',
            per_page: 100,
          });
        })),
      );
    return jobs;
  }
}

interface RawGroup {
  id: number;
  name: string;
  visibility: string;
  allows_public_repositories?: boolean;
}

/** GitHub's answer to a runner deletion: 404 the runner is gone already, 422 it is running a job (it stays). */
async function deleteOutcome(call: () => Promise<unknown>): Promise<DeleteOutcome> {
  try {
    await call();
    return 'deleted';
  } catch (err) {
    const status = (err as GitHubError).status;
    if (status === 404) return 'gone';
    if (status === 422) return 'busy';
    throw err;
  }
}
