// A loopback stand-in for the slice of GitHub the controller uses: the repo and org runner APIs, an org's repos and
// runner groups, queued runs and jobs, and signed `workflow_job` deliveries. It serves the quick-start demo and the end-to-end tests. Its answers are copies of
// GitHub's own documented examples (github-examples.json) with the fields that matter filled in; tests check every
// exchange against GitHub's OpenAPI description.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createHash, randomBytes, randomUUID, verify } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sign } from '@octokit/webhooks-methods';
import examples from './github-examples.json' with { type: 'json' };
import { jobFor, runnerFor } from './assignment.js';
import { ScaleSetService, type ScaleSet, type ScaleSetScope, type ServiceOptions } from './scaleset-service.js';

export interface Exchange {
  method: string;
  path: string;
  requestBody: unknown;
  status: number;
  responseBody: unknown;
  injected: boolean;
  /** The client's port on the connection it came over (a test ties a request to the proxy tunnel that carried it). */
  remotePort?: number;
}
interface StandinRunner {
  id: number;
  name: string;
  /** A repo-level runner's repo; org-level runners have `org` instead. */
  repo?: string;
  org?: string;
  groupId: number;
  admits?: (repo: string) => boolean;
  labels: string[];
  status: 'online' | 'offline';
  busy: boolean;
  jobId?: number;
  scaleSetId?: number;
}
interface StandinJob {
  id: number;
  runId: number;
  repo: string;
  labels: string[];
  status: 'queued' | 'in_progress' | 'completed';
  runnerId?: number;
  runnerName?: string;
  runnerGroupId?: number;
  message?: JobMessage;
  result?: JobResult;
  /** When it was queued and when a runner took it (GitHub's in_progress): the pickup its author sees. */
  queuedAt: number;
  startedAt?: number;
  /** What started the job's run, and the repository its code comes from (another one for a fork's pull request). */
  event: string;
  headRepo: string;
  /** The login that started the run (`actor`, and `triggering_actor` of its attempt). */
  actor?: string;
  assignedAt?: number;
  /** Cancelled while a runner runs it: the runner learns so on its next cancel poll, as the runner gets a cancel message. */
  cancelRequested?: boolean;
  /** Routed to a runner scale set (see scaleset-service.ts): its runner request there, offered and acquired. */
  scaleSetId?: number;
  requestId?: number;
  acquired?: boolean;
  offeredAt?: number;
}

/**
 * What the real runner's job message carries for one action step, in the slice the runner stand-in uses: the action
 * (served from `actionsDir` as GitHub serves an action's files), its inputs, the event and the job's GITHUB_* context.
 */
export interface JobMessage {
  action: string;
  inputs: Record<string, string>;
  event: { name: string; payload: Record<string, unknown> };
  context: Record<string, string>;
}
/** What the runner stand-in reports when the job ends: the step's exit code and its GITHUB_OUTPUT values. */
export interface JobResult {
  exitCode: number;
  outputs: Record<string, string>;
}
/** An organisation as the stand-in knows it: its repos and its runner groups (group 1, Default, admits every repo). */
export interface StandinOrg {
  login: string;
  repos: Array<{ name: string; private: boolean; archived: boolean }>;
  groups: StandinGroup[];
}
export interface StandinGroup {
  id: number;
  name: string;
  visibility: 'all' | 'selected' | 'private';
  allowsPublicRepositories: boolean;
  /** Repo names (without owner) a `selected` group admits. */
  selected: string[];
}
interface Fault {
  method: string;
  path: RegExp;
  status: number;
  headers: Record<string, string>;
  body: unknown;
  times: number;
}

export interface StandinOptions {
  /** Where deliveries go, signed with `secret`. */
  webhook?: { url: string; secret: string };
  /** How long a stand-in runner "runs" a job. */
  jobSeconds?: number;
  /** Act as GitHub for a GitHub App: JWTs signed by its key for /app routes, installation tokens for the rest. */
  app?: { id: number; publicKeyPem: string };
  /** Where the bundled actions live (dist/), for runners that run a job message's action. */
  actionsDir?: string;
  /**
   * A runner that has not finished its job this many seconds after taking it is lost, as GitHub counts a runner that
   * stopped renewing its job (its container was killed): the job fails, `completed` is delivered, and the ephemeral
   * runner is removed. The stand-in runner does not renew, so this is time since assignment; unset, never.
   */
  lostRunnerSeconds?: number;
  /** Serve HTTPS with this PEM certificate and key, as api.github.com (or GitHub Enterprise Server) does. */
  tls?: { cert: string; key: string };
  /** The Actions service's runner scale sets: acquisition deadline, session lapse, long poll, repeated messages. */
  scaleSets?: ServiceOptions;
}

const clone = <T>(v: T): T => structuredClone(v);
// A real runner long-polls GitHub's broker for its job message, so a job given to an idle runner reaches it at once;
// the stand-in holds a runner's poll this long (below run.sh's 10 s wget timeout) and answers the moment it assigns.
const LONG_POLL_MS = 5_000;
const INSTALLATION_ID = 4242;

/** An RS256 JWT signed by the App's key, issued for it, not expired: what GitHub checks on App routes. */
function validAppJwt(jwt: string, app: { id: number; publicKeyPem: string }): boolean {
  const [header, payload, signature] = jwt.split('.');
  if (!header || !payload || !signature) return false;
  const signed = verify(
    'RSA-SHA256',
    Buffer.from(`${header}.${payload}`),
    app.publicKeyPem,
    Buffer.from(signature, 'base64url'),
  );
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as {
    iss?: string | number;
    exp?: number;
  };
  return signed && String(claims.iss) === String(app.id) && (claims.exp ?? 0) * 1000 > Date.now();
}
const iso = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

export class GitHubStandin {
  readonly exchanges: Exchange[] = [];
  /** The Actions service's exchanges (and the registration exchange): not REST, so not in the OpenAPI description. */
  readonly serviceExchanges: Exchange[] = [];
  readonly deliveries: Array<{ id: string; action: string; jobId: number; status: number }> = [];
  readonly runners = new Map<number, StandinRunner>();
  readonly jobs = new Map<number, StandinJob>();
  readonly orgs = new Map<string, StandinOrg>();
  /** Files on each repo's default branch, by path, served by the contents route (a test puts workflows here). */
  readonly files = new Map<string, Map<string, string>>();
  private readonly faults: Fault[] = [];
  private readonly installationTokens = new Set<string>();
  /** Idle runners whose poll is held, woken when a job is assigned to them or they are deleted. */
  private readonly polls = new Map<number, () => void>();
  private server: Server | undefined;
  private nextId = 1000;
  private lostTimer: NodeJS.Timeout | undefined;
  url = '';
  /** Deliveries that never arrive (GitHub drops some): return true to lose this one. */
  loseDelivery: (action: string, job: { id: number; runnerName?: string }) => boolean = () => false;
  /** The Actions service the scale-set protocol talks to, on the same port under /_actions/. */
  readonly service: ScaleSetService;

  constructor(private opts: StandinOptions = {}) {
    const standin = this;
    this.service = new ScaleSetService(
      {
        get url() {
          return standin.url;
        },
        reaches: (scope, groupId, repo) => this.scaleSetReaches(scope, groupId, repo),
        jobs: () => this.jobs.values(),
        registerRunner: (set, name) => this.registerScaleSetRunner(set, name),
        removeRunner: (id) => this.removeScaleSetRunner(id),
        jobAcquired: (job) => {
          const standinJob = this.jobs.get(job.id)!;
          const idle = runnerFor(standinJob, this.runners.values());
          if (idle) void this.assign(idle, standinJob);
        },
        groupsOf: (scope) =>
          'org' in scope ? (this.orgs.get(scope.org.toLowerCase())?.groups ?? []) : [{ id: 1, name: 'Default' }],
      },
      opts.scaleSets,
    );
  }

  async start(port = 0): Promise<string> {
    const handle = (req: IncomingMessage, res: ServerResponse) => void this.route(req, res);
    this.server = this.opts.tls ? createHttpsServer(this.opts.tls, handle) : createServer(handle);
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    const address = this.server.address() as { port: number };
    this.url = `${this.opts.tls ? 'https' : 'http'}://127.0.0.1:${address.port}`;
    this.service.start();
    if (this.opts.lostRunnerSeconds !== undefined) {
      this.lostTimer = setInterval(() => void this.abandonLostJobs(), 250);
      this.lostTimer.unref();
    }
    return this.url;
  }

  async stop(): Promise<void> {
    for (const wake of this.polls.values()) wake();
    this.service.stop();
    clearInterval(this.lostTimer);
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /**
   * Makes `login` an organisation with these repos (public unless said) and runner groups besides Default (id 1).
   * Returns the groups' ids by name.
   */
  addOrg(
    login: string,
    opts: {
      repos: Array<{ name: string; private?: boolean; archived?: boolean }>;
      groups?: Array<{
        name: string;
        visibility?: StandinGroup['visibility'];
        selected?: string[];
        allowsPublicRepositories?: boolean;
      }>;
    },
  ): Record<string, number> {
    const groups: StandinGroup[] = [
      { id: 1, name: 'Default', visibility: 'all', allowsPublicRepositories: true, selected: [] },
      ...(opts.groups ?? []).map((g) => ({
        id: this.nextId++,
        name: g.name,
        visibility: g.visibility ?? 'all',
        allowsPublicRepositories: g.allowsPublicRepositories ?? true,
        selected: g.selected ?? [],
      })),
    ];
    const repos = opts.repos.map((r) => ({ name: r.name, private: r.private ?? false, archived: r.archived ?? false }));
    this.orgs.set(login.toLowerCase(), { login, repos, groups });
    return Object.fromEntries(groups.map((g) => [g.name, g.id]));
  }

  /** Whether the org's group admits a repo ("owner/name"), as GitHub decides which jobs its runners may take. */
  private groupAdmits(org: StandinOrg, group: StandinGroup, fullName: string): boolean {
    const name = fullName.split('/')[1]?.toLowerCase();
    const repo = org.repos.find((r) => r.name.toLowerCase() === name);
    if (!repo) return false;
    if (group.visibility === 'selected' && !group.selected.some((s) => s.toLowerCase() === name)) return false;
    if ((group.visibility === 'private' || !group.allowsPublicRepositories) && !repo.private) return false;
    return true;
  }

  setWebhook(webhook: { url: string; secret: string }): void {
    this.opts.webhook = webhook;
  }

  /** The next `times` requests matching method and path answer `status` (5xx, 403/429 rate limits, 404...). */
  failNext(
    method: string,
    path: RegExp,
    status: number,
    opts: { headers?: Record<string, string>; body?: unknown; times?: number } = {},
  ): void {
    this.faults.push({
      method,
      path,
      status,
      headers: opts.headers ?? {},
      body: opts.body ?? { message: 'Server Error' },
      times: opts.times ?? 1,
    });
  }

  /** Queues a job as GitHub does when a workflow run starts, and announces it unless `announce` is false (a lost delivery). */
  async queueJob(
    repo: string,
    labels: string[],
    opts: {
      announce?: boolean;
      id?: number;
      message?: JobMessage;
      event?: string;
      headRepo?: string;
      actor?: string;
    } = {},
  ): Promise<number> {
    const job: StandinJob = {
      id: opts.id ?? this.nextId++,
      runId: this.nextId++,
      repo,
      labels,
      status: 'queued',
      queuedAt: Date.now(),
      event: opts.event ?? 'push',
      headRepo: opts.headRepo ?? repo,
      ...(opts.actor ? { actor: opts.actor } : {}),
      ...(opts.message ? { message: opts.message } : {}),
    };
    this.jobs.set(job.id, job);
    this.service.jobQueued();
    if (opts.announce !== false) await this.deliver(job, 'queued');
    // A matching runner that idles online takes it at once; it learns so on its next poll.
    const idle = job.status === 'queued' ? runnerFor(job, this.runners.values()) : undefined;
    if (idle) await this.assign(idle, job);
    return job.id;
  }

  /**
   * Cancels a job, as a user pressing "Cancel workflow" would (and as a fork can have its own run cancelled): a queued
   * job completes at once; a running one is cancelled on its runner, which ends it and reports when it is done.
   */
  async cancelJob(jobId: number): Promise<void> {
    const job = this.jobs.get(jobId);
    if (job?.status === 'in_progress') {
      job.cancelRequested = true;
      return;
    }
    if (!job || job.status !== 'queued') throw new Error(`stand-in: job ${jobId} is not queued or in progress`);
    job.status = 'completed';
    this.service.jobCompleted(job, 'canceled');
    await this.deliver(job, 'completed');
  }

  /** Sends a delivery for the job's current state; returns the HTTP status the controller answered. */
  async deliver(job: StandinJob, action: string, deliveryId: string = randomUUID()): Promise<number> {
    if (!this.opts.webhook || this.loseDelivery(action, job)) return 0;
    const payload = clone(examples.workflowJobQueued) as Record<string, any>;
    const [owner, name] = job.repo.split('/');
    Object.assign(payload.workflow_job, {
      id: job.id,
      run_id: job.runId,
      labels: job.labels,
      status: job.status,
      conclusion: job.status === 'completed' ? (job.runnerId && !job.cancelRequested ? 'success' : 'cancelled') : null,
      runner_id: job.runnerId ?? null,
      runner_name: job.runnerName ?? null,
      ...this.groupFields(job),
    });
    payload.action = action;
    Object.assign(payload.repository, { name, full_name: job.repo });
    payload.repository.owner.login = owner;
    // GitHub adds the organisation to every delivery about an org's repo, whether a repo or an org webhook sent it.
    const org = this.orgs.get(owner!.toLowerCase());
    if (org) payload.organization = { ...clone(examples.organization), login: org.login };
    return this.post(JSON.stringify(payload), 'workflow_job', deliveryId, action, job.id);
  }

  /** Posts an already built body, signed; lets tests replay a delivery byte for byte. */
  async post(body: string, event: string, deliveryId: string, action = '', jobId = 0): Promise<number> {
    const { url, secret } = this.opts.webhook!;
    let status = 0; // as on GitHub, a delivery nobody answered is recorded as failed, not retried
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-github-event': event,
          'x-github-delivery': deliveryId,
          'x-hub-signature-256': await sign(secret, body),
        },
        body,
        signal: AbortSignal.timeout(10_000),
      });
      await res.arrayBuffer();
      status = res.status;
    } catch {
      // the controller is down or restarting
    }
    this.deliveries.push({ id: deliveryId, action, jobId, status });
    return status;
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const requestBody = raw ? JSON.parse(raw) : undefined;
    const url = new URL(req.url ?? '/', this.url);
    const method = req.method ?? 'GET';
    const send = (status: number, body?: unknown, headers: Record<string, string> = {}, injected = false) => {
      const service = url.pathname.startsWith('/_actions/') || url.pathname === '/actions/runner-registration';
      if (!url.pathname.startsWith('/_standin/'))
        (service ? this.serviceExchanges : this.exchanges).push({
          method,
          path: url.pathname,
          requestBody,
          status,
          responseBody: body,
          injected,
          remotePort: req.socket.remotePort,
        });
      res.writeHead(status, { 'content-type': 'application/json', 'x-ratelimit-remaining': '4999', ...headers });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    };

    const fault = this.faults.find((f) => f.method === method && f.path.test(url.pathname));
    if (fault) {
      if (--fault.times <= 0) this.faults.splice(this.faults.indexOf(fault), 1);
      return send(fault.status, fault.body, fault.headers, true);
    }
    if (url.pathname === '/actions/runner-registration' && method === 'POST') {
      const answer = this.service.runnerRegistration(req.headers.authorization ?? '', requestBody ?? {});
      return send(answer.status, answer.body);
    }
    const service = await this.service.route(
      method,
      url,
      req.headers.authorization ?? '',
      requestBody,
      req.headers['x-scalesetmaxcapacity'] as string | undefined,
    );
    if (service) return send(service.status, service.body);
    if (!url.pathname.startsWith('/_standin/') && !this.authorized(url.pathname, req.headers.authorization ?? '')) {
      return send(401, { message: 'Requires authentication', documentation_url: 'https://docs.github.com/rest' });
    }

    let m: RegExpMatchArray | null;
    if ((m = url.pathname.match(/^\/repos\/([^/]+)\/[^/]+\/installation$/)) && method === 'GET' && this.opts.app) {
      const installation = clone(examples.installation) as Record<string, any>;
      Object.assign(installation, { id: INSTALLATION_ID, app_id: this.opts.app.id });
      installation.account.login = m[1];
      return send(200, installation);
    }
    if (
      (m = url.pathname.match(/^\/app\/installations\/(\d+)\/access_tokens$/)) &&
      method === 'POST' &&
      this.opts.app
    ) {
      if (Number(m[1]) !== INSTALLATION_ID)
        return send(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
      const token = `ghs_${randomBytes(18).toString('hex').slice(0, 36)}`;
      this.installationTokens.add(token);
      return send(201, {
        ...clone(examples.installationToken),
        token,
        expires_at: new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d+Z$/, 'Z'),
      });
    }
    if (
      (m = url.pathname.match(/^\/repos\/([^/]+\/[^/]+)\/actions\/runners\/generate-jitconfig$/)) &&
      method === 'POST'
    ) {
      return send(201, this.registerRunner({ repo: m[1]! }, requestBody));
    }
    if (
      (m = url.pathname.match(/^\/repos\/([^/]+\/[^/]+)\/actions\/runners\/registration-token$/)) &&
      method === 'POST'
    ) {
      return send(201, { ...this.service.registrationToken({ repo: m[1]! }) });
    }
    if ((m = url.pathname.match(/^\/repos\/([^/]+\/[^/]+)\/actions\/runners$/)) && method === 'GET') {
      const list = [...this.runners.values()].filter((r) => r.repo === m![1]).map((r) => this.runnerJson(r));
      return send(200, { total_count: list.length, runners: list });
    }
    if ((m = url.pathname.match(/^\/repos\/([^/]+\/[^/]+)\/actions\/runners\/(\d+)$/)) && method === 'DELETE') {
      const runner = this.runners.get(Number(m[2]));
      if (!runner || runner.repo !== m[1])
        return send(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' });
      if (runner.busy)
        return send(422, {
          message: `Bad request - Runner "${runner.name}" is still running a job"`,
          documentation_url: 'https://docs.github.com/rest',
        });
      this.runners.delete(runner.id);
      this.polls.get(runner.id)?.();
      return send(204);
    }
    if ((m = url.pathname.match(/^\/repos\/([^/]+\/[^/]+)\/actions\/runs$/)) && method === 'GET') {
      return send(200, this.runsJson(m[1]!, url.searchParams.get('status')));
    }
    if ((m = url.pathname.match(/^\/repos\/([^/]+\/[^/]+)\/actions\/runs\/(\d+)$/)) && method === 'GET') {
      const run = this.runJson(m[1]!, Number(m[2]));
      return run
        ? send(200, run)
        : send(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
    }
    if ((m = url.pathname.match(/^\/repos\/([^/]+\/[^/]+)\/actions\/runs\/(\d+)\/jobs$/)) && method === 'GET') {
      const jobs = [...this.jobs.values()]
        .filter((j) => j.repo === m![1] && j.runId === Number(m![2]))
        .map((j) => this.jobJson(j));
      return send(200, { total_count: jobs.length, jobs });
    }
    if ((m = url.pathname.match(/^\/orgs\/([^/]+)\//))) {
      const org = this.orgs.get(m[1]!.toLowerCase());
      if (!org) return send(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
      const answer = this.orgRoute(org, method, url.pathname.slice(m[0].length), requestBody);
      if (answer) return send(answer.status, answer.body);
    }
    if ((m = url.pathname.match(/^\/repos\/([^/]+\/[^/]+)\/contents\/(.+)$/)) && method === 'GET') {
      const body = this.contentsJson(m[1]!, decodeURIComponent(m[2]!), url.searchParams.get('ref') ?? 'main');
      return body === undefined
        ? send(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' })
        : send(200, body);
    }
    if ((m = url.pathname.match(/^\/_standin\/runners\/(\d+)\/(run|done|cancelled)$/)) && method === 'POST') {
      const runnerId = Number(m[1]);
      if (m[2] === 'cancelled') {
        const jobId = this.runners.get(runnerId)?.jobId;
        return send(200, { cancelled: jobId !== undefined && this.jobs.get(jobId)?.cancelRequested === true });
      }
      return send(
        200,
        m[2] === 'run' ? await this.runnerAsksForJob(runnerId) : await this.runnerFinishedJob(runnerId, requestBody),
      );
    }
    // The action's files, as GitHub hands a runner the whole action: its listing first, then each file (a bundle
    // may be split into chunks it loads when needed).
    if ((m = url.pathname.match(/^\/_standin\/actions\/([a-z0-9-]+)\/$/)) && method === 'GET' && this.opts.actionsDir) {
      const entries = await readdir(join(this.opts.actionsDir, m[1]!), { withFileTypes: true }).catch(() => undefined);
      if (!entries) return send(404, { message: 'Not Found' });
      return send(
        200,
        entries.filter((e) => e.isFile()).map((e) => e.name),
      );
    }
    if (
      (m = url.pathname.match(/^\/_standin\/actions\/([a-z0-9-]+)\/([A-Za-z0-9_-][A-Za-z0-9._-]*)$/)) &&
      method === 'GET' &&
      this.opts.actionsDir
    ) {
      const file = await readFile(join(this.opts.actionsDir, m[1]!, m[2]!)).catch(() => undefined);
      if (!file) return send(404, { message: 'Not Found' });
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      return void res.end(file);
    }
    send(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
  }

  /** The org routes, `rest` being the path after `/orgs/{org}/`; undefined for a route GitHub does not have. */
  private orgRoute(
    org: StandinOrg,
    method: string,
    rest: string,
    body: { name: string; labels: string[]; runner_group_id: number },
  ): { status: number; body?: unknown } | undefined {
    const notFound = { status: 404, body: { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' } };
    let m: RegExpMatchArray | null;
    if (rest === 'installation' && method === 'GET' && this.opts.app) {
      const installation = clone(examples.installation) as Record<string, any>;
      Object.assign(installation, { id: INSTALLATION_ID, app_id: this.opts.app.id, target_type: 'Organization' });
      installation.account.login = org.login;
      return { status: 200, body: installation };
    }
    if (rest === 'repos' && method === 'GET') {
      return { status: 200, body: org.repos.map((r) => this.repoJson(org, r)) };
    }
    if (rest === 'actions/runners/generate-jitconfig' && method === 'POST') {
      const group = org.groups.find((g) => g.id === body.runner_group_id);
      if (!group) return notFound;
      return { status: 201, body: this.registerRunner({ org, group }, body) };
    }
    if (rest === 'actions/runners/registration-token' && method === 'POST') {
      return { status: 201, body: this.service.registrationToken({ org: org.login }) };
    }
    if (rest === 'actions/runners' && method === 'GET') {
      const list = [...this.runners.values()].filter((r) => r.org === org.login).map((r) => this.runnerJson(r));
      return { status: 200, body: { total_count: list.length, runners: list } };
    }
    if ((m = rest.match(/^actions\/runners\/(\d+)$/)) && method === 'DELETE') {
      const runner = this.runners.get(Number(m[1]));
      if (!runner || runner.org !== org.login) return { status: 404, body: { ...notFound.body, status: '404' } };
      if (runner.busy)
        return {
          status: 422,
          body: {
            message: `Bad request - Runner "${runner.name}" is still running a job"`,
            documentation_url: 'https://docs.github.com/rest',
          },
        };
      this.runners.delete(runner.id);
      return { status: 204 };
    }
    if (rest === 'actions/runner-groups' && method === 'GET') {
      const groups = org.groups.map((g) => ({
        ...clone(examples.runnerGroup),
        id: g.id,
        name: g.name,
        visibility: g.visibility,
        default: g.id === 1,
        runners_url: `${this.url}/orgs/${org.login}/actions/runner_groups/${g.id}/runners`,
        ...(g.visibility === 'selected'
          ? { selected_repositories_url: `${this.url}/orgs/${org.login}/actions/runner_groups/${g.id}/repositories` }
          : {}),
        allows_public_repositories: g.allowsPublicRepositories,
      }));
      return { status: 200, body: { total_count: groups.length, runner_groups: groups } };
    }
    if ((m = rest.match(/^actions\/runner-groups\/(\d+)\/repositories$/)) && method === 'GET') {
      const group = org.groups.find((g) => g.id === Number(m![1]));
      if (!group) return notFound;
      const repos = org.repos
        .filter((r) => group.selected.some((s) => s.toLowerCase() === r.name.toLowerCase()))
        .map((r) => this.repoJson(org, r));
      return { status: 200, body: { total_count: repos.length, repositories: repos } };
    }
    return undefined;
  }

  private repoJson(org: StandinOrg, r: StandinOrg['repos'][number]) {
    const repo = clone(examples.minimalRepository) as Record<string, any>;
    Object.assign(repo, {
      name: r.name,
      full_name: `${org.login}/${r.name}`,
      private: r.private,
      archived: r.archived,
      visibility: r.private ? 'private' : 'public',
    });
    repo.owner.login = org.login;
    return repo;
  }

  /** Any token will do unless an App is configured; then JWTs for /app routes and issued installation tokens elsewhere. */
  private authorized(path: string, header: string): boolean {
    const app = this.opts.app;
    if (!app) return /^(token|bearer) \S+/i.test(header);
    const [scheme, credential = ''] = header.split(' ');
    if (path.startsWith('/app/') || /^\/(repos\/[^/]+\/[^/]+|orgs\/[^/]+)\/installation$/.test(path)) {
      return scheme?.toLowerCase() === 'bearer' && validAppJwt(credential, app);
    }
    return /^(token|bearer)$/i.test(scheme ?? '') && this.installationTokens.has(credential);
  }

  private registerRunner(
    at: { repo: string } | { org: StandinOrg; group: StandinGroup },
    body: { name: string; labels: string[] },
  ) {
    const runner: StandinRunner = {
      id: this.nextId++,
      name: body.name,
      ...('repo' in at
        ? { repo: at.repo, groupId: 1 }
        : {
            org: at.org.login,
            groupId: at.group.id,
            admits: (repo: string) => this.groupAdmits(at.org, at.group, repo),
          }),
      labels: body.labels,
      status: 'offline',
      busy: false,
    };
    this.runners.set(runner.id, runner);
    // The stand-in runner image reads this URL; a real runner reads credentials and the service URL instead.
    const jit = { '.standin': { url: `${this.url}/_standin/runners/${runner.id}` } };
    return { runner: this.runnerJson(runner), encoded_jit_config: Buffer.from(JSON.stringify(jit)).toString('base64') };
  }

  /** Whether a scale set registered at `scope` (in runner group `groupId`) may run the repo's jobs. */
  private scaleSetReaches(scope: ScaleSetScope, groupId: number, repo: string): boolean {
    if ('repo' in scope) return scope.repo.toLowerCase() === repo.toLowerCase();
    const org = this.orgs.get(scope.org.toLowerCase());
    const group = org?.groups.find((g) => g.id === groupId);
    return (
      org !== undefined &&
      group !== undefined &&
      repo.split('/')[0]!.toLowerCase() === org.login.toLowerCase() &&
      this.groupAdmits(org, group, repo)
    );
  }

  /** A scale set's JIT runner: registered where the scale set is, with its labels, taking only its jobs. */
  private registerScaleSetRunner(set: ScaleSet, name: string): { id: number; encoded: string } {
    const org = 'org' in set.scope ? this.orgs.get(set.scope.org.toLowerCase()) : undefined;
    const group = org?.groups.find((g) => g.id === set.runnerGroupId);
    const at = org && group ? { org, group } : { repo: 'repo' in set.scope ? set.scope.repo : '' };
    const json = this.registerRunner(at, { name, labels: set.labels });
    const runner = this.runners.get(json.runner.id)!;
    runner.scaleSetId = set.id;
    return { id: runner.id, encoded: json.encoded_jit_config };
  }

  private removeScaleSetRunner(id: number): boolean {
    const runner = this.runners.get(id);
    if (!runner || runner.busy) return false;
    this.runners.delete(id);
    this.polls.get(id)?.();
    return true;
  }

  /** A runner that comes online takes the oldest queued job its labels satisfy, as GitHub's broker assigns them. */
  private async runnerAsksForJob(runnerId: number) {
    const runner = this.runners.get(runnerId);
    if (!runner) return { job: null, error: 'runner not registered' };
    runner.status = 'online';
    let running = runner.busy && runner.jobId !== undefined ? this.jobs.get(runner.jobId) : undefined;
    const job = running ?? jobFor(runner, this.jobs.values());
    if (!job) {
      // Idle: hold the poll until a job is assigned to this runner (queueJob does so at once) or time runs out.
      this.polls.get(runnerId)?.();
      let wake = () => {};
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => wake(), LONG_POLL_MS);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
        this.polls.set(runnerId, wake);
      });
      if (this.polls.get(runnerId) === wake) this.polls.delete(runnerId);
      running = runner.busy && runner.jobId !== undefined ? this.jobs.get(runner.jobId) : undefined;
      if (!this.runners.has(runnerId)) return { job: null, error: 'runner not registered' };
      if (!running) return { job: null };
      return {
        job: running.id,
        seconds: this.opts.jobSeconds ?? 1,
        ...(running.message ? { message: running.message } : {}),
      };
    }
    if (!running) await this.assign(runner, job);
    return { job: job.id, seconds: this.opts.jobSeconds ?? 1, ...(job.message ? { message: job.message } : {}) };
  }

  private async assign(runner: StandinRunner, job: StandinJob): Promise<void> {
    Object.assign(job, {
      status: 'in_progress',
      runnerId: runner.id,
      runnerName: runner.name,
      runnerGroupId: runner.groupId,
    });
    const at = Date.now();
    Object.assign(job, {
      status: 'in_progress',
      runnerId: runner.id,
      runnerName: runner.name,
      assignedAt: at,
      startedAt: at,
    });
    Object.assign(runner, { busy: true, jobId: job.id });
    this.polls.get(runner.id)?.();
    this.service.jobStarted(job);
    await this.deliver(job, 'in_progress');
  }

  /** An ephemeral runner deregisters itself once its one job is done. */
  private async runnerFinishedJob(runnerId: number, result?: JobResult) {
    const runner = this.runners.get(runnerId);
    const job = runner?.jobId ? this.jobs.get(runner.jobId) : undefined;
    if (!runner || !job) return { ok: false };
    job.status = 'completed';
    if (result) job.result = result;
    this.runners.delete(runnerId);
    this.service.jobCompleted(job, (result?.exitCode ?? 0) === 0 ? 'succeeded' : 'failed');
    await this.deliver(job, 'completed');
    return { ok: true };
  }

  /** Jobs whose runner is lost (see lostRunnerSeconds) fail; GitHub then drops the ephemeral runner. */
  private async abandonLostJobs(): Promise<void> {
    const limit = (this.opts.lostRunnerSeconds ?? Infinity) * 1000;
    for (const job of this.jobs.values()) {
      if (job.status !== 'in_progress' || job.assignedAt === undefined || Date.now() - job.assignedAt < limit) continue;
      job.status = 'completed';
      job.result = { exitCode: 1, outputs: {} };
      if (job.runnerId !== undefined) this.runners.delete(job.runnerId);
      this.service.jobCompleted(job, 'failed');
      await this.deliver(job, 'completed');
    }
  }

  /** Puts a file on the repo's default branch (`main`), or on another branch or tag, as a push would. */
  setFile(repo: string, path: string, text: string, ref = 'main'): void {
    const key = ref === 'main' ? repo : `${repo}@${ref}`;
    if (!this.files.has(key)) this.files.set(key, new Map());
    this.files.get(key)!.set(path, text);
  }

  /** GET /repos/{owner}/{repo}/contents/{path}: a file, or a folder's entries, in GitHub's shapes; undefined is 404. */
  private contentsJson(repo: string, path: string, ref: string) {
    // A ref the repo does not have is a 404, as GitHub answers "No commit found for the ref".
    const files = this.files.get(ref === 'main' ? repo : `${repo}@${ref}`) ?? new Map<string, string>();
    const entry = (p: string, text: string) => {
      const bytes = Buffer.from(text, 'utf8');
      const sha = createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
      const api = `${this.url}/repos/${repo}/contents/${p}?ref=${ref}`;
      const html = `https://github.com/${repo}/blob/${ref}/${p}`;
      const git = `${this.url}/repos/${repo}/git/blobs/${sha}`;
      return {
        type: 'file' as const,
        size: bytes.length,
        name: p.slice(p.lastIndexOf('/') + 1),
        path: p,
        sha,
        url: api,
        git_url: git,
        html_url: html,
        download_url: `https://raw.githubusercontent.com/${repo}/${ref}/${p}`,
        _links: { self: api, git, html },
      };
    };
    const text = files.get(path);
    if (text !== undefined)
      return { ...entry(path, text), encoding: 'base64', content: Buffer.from(text, 'utf8').toString('base64') };
    const inside = [...files].filter(([p]) => p.startsWith(`${path}/`) && !p.slice(path.length + 1).includes('/'));
    return inside.length > 0 ? inside.map(([p, t]) => entry(p, t)) : undefined;
  }

  private runnerJson(r: StandinRunner) {
    return {
      ...clone(examples.runner),
      id: r.id,
      name: r.name,
      status: r.status,
      busy: r.busy,
      ephemeral: true,
      labels: r.labels.map((name, i) => ({ id: i + 1, name, type: i === 0 ? 'read-only' : 'custom' })),
    };
  }

  private runsJson(repo: string, status: string | null) {
    const runIds = new Set([...this.jobs.values()].filter((j) => j.repo === repo).map((j) => j.runId));
    const runs = [...runIds].map((id) => this.runJson(repo, id)!);
    const filtered = status ? runs.filter((r) => r.status === status) : runs;
    return { total_count: filtered.length, workflow_runs: filtered };
  }

  /** A run as GitHub shows it: its event, and its repository and head repository (a fork's for a fork's PR). */
  private runJson(repo: string, id: number) {
    const jobs = [...this.jobs.values()].filter((j) => j.runId === id && j.repo === repo);
    if (jobs.length === 0) return undefined;
    const runStatus = jobs.every((j) => j.status === 'completed')
      ? 'completed'
      : jobs.every((j) => j.status === 'queued')
        ? 'queued'
        : 'in_progress';
    const run = clone(examples.workflowRun) as Record<string, any>;
    const named = (full: string, base: Record<string, any>) => {
      const [owner, name] = full.split('/') as [string, string];
      return { ...base, name, full_name: full, owner: { ...base.owner, login: owner } };
    };
    return {
      ...run,
      id,
      event: jobs[0]!.event,
      status: runStatus,
      conclusion: runStatus === 'completed' ? 'success' : null,
      repository: named(repo, run.repository),
      head_repository: named(jobs[0]!.headRepo, run.head_repository),
      ...(jobs[0]!.actor
        ? {
            actor: { ...run.actor, login: jobs[0]!.actor, type: 'Bot' },
            triggering_actor: { ...run.triggering_actor, login: jobs[0]!.actor, type: 'Bot' },
          }
        : {}),
    };
  }

  private jobJson(j: StandinJob) {
    return {
      ...clone(examples.job),
      id: j.id,
      run_id: j.runId,
      status: j.status,
      labels: j.labels,
      steps: [],
      conclusion: j.status === 'completed' ? 'success' : null,
      completed_at: j.status === 'completed' ? iso() : null,
      runner_id: j.runnerId ?? null,
      runner_name: j.runnerName ?? null,
      ...this.groupFields(j),
    };
  }

  /** The runner group of the runner that took the job (kept on the job: the ephemeral runner is gone once it ends). */
  private groupFields(job: StandinJob) {
    if (!job.runnerId) return { runner_group_id: null, runner_group_name: null };
    const org = this.orgs.get(job.repo.split('/')[0]!.toLowerCase());
    const group = org?.groups.find((g) => g.id === job.runnerGroupId);
    return { runner_group_id: group?.id ?? 1, runner_group_name: group?.name ?? 'Default' };
  }
}
