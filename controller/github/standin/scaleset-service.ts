// The stand-in's Actions service: runner scale sets, their message sessions and queues, as the official scale-set
// client (actions/scaleset) and ARC's listener speak to them. The registration-token exchange on the API host hands
// out this service's URL and an admin JWT; a session owns its scale set's queue; a queued job whose labels a scale
// set covers is that scale set's alone: it is offered (JobAvailable), must be acquired in time or is offered again,
// is then assigned to the scale set (JobAssigned), and only the scale set's JIT runners take it, oldest first
// (JobStarted, JobCompleted). Tests can evict sessions, expire queue tokens, hold a stale session (409), delete a
// scale set, and repeat messages.
import { randomBytes, randomUUID } from 'node:crypto';

/** What the service needs of the stand-in GitHub around it. */
export interface ServiceHost {
  url: string;
  /** Whether a scale set registered at `scope` may run jobs of `repo` (its repo; its org and runner group). */
  reaches(scope: ScaleSetScope, groupId: number, repo: string): boolean;
  /** Queued jobs in queueing order (the stand-in's job map). */
  jobs(): Iterable<ServiceJob>;
  /** Registers a JIT runner of the scale set (as generate-jitconfig does) and returns its id and JIT config. */
  registerRunner(scaleSet: ScaleSet, name: string): { id: number; encoded: string };
  removeRunner(id: number): boolean;
  /** The scale set acquired the job: an idle runner of it takes it at once. */
  jobAcquired(job: ServiceJob): void;
  /** The runner groups a scope may use: a repo has Default (1) alone, an org its groups. */
  groupsOf(scope: ScaleSetScope): Array<{ id: number; name: string }>;
}
export type ScaleSetScope = { repo: string } | { org: string };
export interface ServiceJob {
  id: number;
  repo: string;
  runId: number;
  labels: string[];
  event: string;
  status: 'queued' | 'in_progress' | 'completed';
  queuedAt: number;
  /** The scale set the job was routed to, and the runner request the service knows it by. */
  scaleSetId?: number;
  requestId?: number;
  acquired?: boolean;
  offeredAt?: number;
  runnerId?: number;
  runnerName?: string;
}
export interface ScaleSet {
  id: number;
  name: string;
  runnerGroupId: number;
  runnerGroupName: string;
  labels: string[];
  scope: ScaleSetScope;
  createdOn: string;
  session?: Session;
  queue: Array<{ id: number; body: unknown[] }>;
  nextMessageId: number;
  /** The capacity the last poll announced (X-ScaleSetMaxCapacity): no more jobs are offered than it allows. */
  maxCapacity: number;
  /** The session polling it now, woken when a message is queued. */
  wake?: () => void;
}
interface Session {
  id: string;
  owner: string;
  queueToken: string;
  lastSeen: number;
}

export interface ServiceOptions {
  /** A JobAvailable not acquired in this long is offered again (GitHub requeues the runner request). */
  acquireMs?: number;
  /** A session not seen polling for this long lapses, so a new one may be created (until then: 409). */
  sessionTtlMs?: number;
  /** How long a poll of an empty queue is held before 202 (the real service holds about 50 s). */
  longPollMs?: number;
  /** Every job message is queued twice, in two messages, as the service repeats them after a hiccup. */
  repeatMessages?: boolean;
}

const ADMIN_TOKEN_SECONDS = 3600;
const BASE = '/_actions/tenant';
const API = `${BASE}/_apis/runtime/runnerscalesets`;

/** An unsigned JWT with the expiry the client reads (the client never verifies the admin token, it only parses it). */
function adminJwt(seconds: number): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const exp = Math.floor(Date.now() / 1000) + seconds;
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ exp, iss: 'standin' })}.${randomBytes(8).toString('hex')}`;
}

export class ScaleSetService {
  readonly scaleSets = new Map<number, ScaleSet>();
  /** Registration tokens handed out by the REST route, with the scope they are for. */
  private readonly registrationTokens = new Map<string, ScaleSetScope>();
  private readonly adminTokens = new Map<string, ScaleSetScope>();
  private nextId = 1;
  private nextRequestId = 900_000;
  private timer: NodeJS.Timeout | undefined;
  /** Polls the client made, with the capacity each announced. */
  readonly polls: Array<{ scaleSetId: number; lastMessageId: number; maxCapacity: number }> = [];

  constructor(
    private readonly host: ServiceHost,
    private readonly opts: ServiceOptions = {},
  ) {}

  start(): void {
    this.timer = setInterval(() => this.tick(), 100);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    for (const s of this.scaleSets.values()) s.wake?.();
  }

  /** POST /{repos/{owner}/{repo}|orgs/{org}}/actions/runners/registration-token: a one-hour token for the scope. */
  registrationToken(scope: ScaleSetScope): { token: string; expires_at: string } {
    const token = `AAAA${randomBytes(15).toString('hex').toUpperCase()}`;
    this.registrationTokens.set(token, scope);
    return { token, expires_at: new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d+Z$/, 'Z') };
  }

  /** POST /actions/runner-registration with `RemoteAuth <registration token>`: the service URL and an admin token. */
  runnerRegistration(authorization: string, body: { url?: string; runner_event?: string }) {
    const [scheme, token = ''] = authorization.split(' ');
    const scope = this.registrationTokens.get(token);
    if (scheme !== 'RemoteAuth' || !scope) return { status: 401, body: { message: 'Bad credentials' } };
    const path = new URL(body.url ?? '', this.host.url).pathname.replace(/^\/+|\/+$/g, '');
    const named = 'repo' in scope ? scope.repo : scope.org;
    if (body.runner_event !== 'register' || path.toLowerCase() !== named.toLowerCase())
      return { status: 404, body: { message: 'Not Found' } };
    const admin = adminJwt(ADMIN_TOKEN_SECONDS);
    this.adminTokens.set(admin, scope);
    return { status: 200, body: { url: `${this.host.url}${BASE}/`, token: admin, token_schema: 'OAuthAccessToken' } };
  }

  /** Answers a request under the service's path; undefined when the path is not the service's. */
  async route(
    method: string,
    url: URL,
    authorization: string,
    body: any,
    maxCapacity: string | undefined,
  ): Promise<{ status: number; body?: unknown } | undefined> {
    if (!url.pathname.startsWith(`${BASE}/`)) return undefined;
    const bearer = authorization.replace(/^Bearer /, '');
    const queue = url.pathname.match(
      /^\/_actions\/tenant\/_apis\/runtime\/runnerscalesets\/(\d+)\/messages(?:\/(\d+))?$/,
    );
    if (queue) return this.queueRoute(method, Number(queue[1]), queue[2], bearer, url, maxCapacity);
    // Acquisition is authorised by the session's queue token, as the official client sends it; the rest by the admin token.
    const acquiring = url.pathname.match(/^\/_actions\/tenant\/_apis\/runtime\/runnerscalesets\/(\d+)\/acquirejobs$/);
    const scope = acquiring ? this.scaleSets.get(Number(acquiring[1]))?.scope : this.adminTokens.get(bearer);
    if (!scope) return { status: 401, body: { message: 'TF400813: The user is not authorized' } };
    if (url.searchParams.get('api-version') !== '6.0-preview') return { status: 400, body: { message: 'api-version' } };
    let m: RegExpMatchArray | null;
    const rest = url.pathname.slice(API.length);
    if (url.pathname === `${BASE}/_apis/runtime/runnergroups/` && method === 'GET') {
      const name = url.searchParams.get('groupName') ?? '';
      const id = this.groupId(scope, name);
      return {
        status: 200,
        body: id ? { count: 1, value: [{ id, name, size: 0, isDefaultGroup: id === 1 }] } : { count: 0, value: [] },
      };
    }
    if (
      (m = url.pathname.match(/^\/_actions\/tenant\/_apis\/distributedtask\/pools\/0\/agents\/(\d+)$/)) &&
      method === 'DELETE'
    ) {
      return this.host.removeRunner(Number(m[1]))
        ? { status: 204 }
        : { status: 404, body: { message: 'agent not found' } };
    }
    if (!url.pathname.startsWith(API)) return { status: 404, body: { message: 'Not Found' } };
    if (rest === '' && method === 'GET') {
      const groupId = Number(url.searchParams.get('runnerGroupId'));
      const name = url.searchParams.get('name');
      const found = [...this.scaleSets.values()].filter(
        (s) => s.name === name && s.runnerGroupId === groupId && sameScope(s.scope, scope),
      );
      return { status: 200, body: { count: found.length, value: found.map((s) => this.json(s)) } };
    }
    if (rest === '' && method === 'POST') {
      const groupId = body?.runnerGroupId ?? 1;
      const groupName = this.groupName(scope, groupId);
      if (!groupName) return { status: 404, body: { message: `runner group ${groupId} not found` } };
      if ([...this.scaleSets.values()].some((s) => s.name === body?.name && sameScope(s.scope, scope)))
        return { status: 409, body: { message: `A runner scale set named ${body?.name} already exists` } };
      const set: ScaleSet = {
        id: this.nextId++,
        name: String(body?.name),
        runnerGroupId: groupId,
        runnerGroupName: groupName,
        labels: (body?.labels ?? []).map((l: { name: string }) => l.name),
        scope,
        createdOn: new Date().toISOString(),
        queue: [],
        nextMessageId: 1,
        maxCapacity: 0,
      };
      this.scaleSets.set(set.id, set);
      this.routeJobs();
      return { status: 200, body: this.json(set) };
    }
    if (!(m = rest.match(/^\/(\d+)(\/.*)?$/))) return { status: 404, body: { message: 'Not Found' } };
    const set = this.scaleSets.get(Number(m[1]));
    if (!set || !sameScope(set.scope, scope)) return { status: 404, body: { message: 'runner scale set not found' } };
    const tail = m[2] ?? '';
    if (tail === '' && method === 'GET') return { status: 200, body: this.json(set) };
    if (tail === '' && method === 'DELETE') return (this.deleteScaleSet(set.id), { status: 204 });
    if (tail === '/sessions' && method === 'POST') {
      const live = set.session && Date.now() - set.session.lastSeen < (this.opts.sessionTtlMs ?? 30_000);
      if (live)
        return {
          status: 409,
          body: {
            message: `The actions runner scale set ${set.name} already has an active session for owner ${set.session!.owner}.`,
          },
        };
      set.session = {
        id: randomUUID(),
        owner: String(body?.ownerName ?? ''),
        queueToken: randomBytes(12).toString('hex'),
        lastSeen: Date.now(),
      };
      return { status: 200, body: this.sessionJson(set) };
    }
    if ((m = tail.match(/^\/sessions\/([0-9a-f-]+)$/))) {
      const session = set.session;
      if (!session || session.id !== m[1]) return { status: 404, body: { message: 'session not found' } };
      if (method === 'DELETE') {
        set.session = undefined;
        set.wake?.();
        return { status: 204 };
      }
      if (method === 'PATCH') {
        session.queueToken = randomBytes(12).toString('hex');
        session.lastSeen = Date.now();
        return { status: 200, body: this.sessionJson(set) };
      }
    }
    if (tail === '/acquirejobs' && method === 'POST') {
      if (!set.session || bearer !== set.session.queueToken) return { status: 401, body: { message: 'token expired' } };
      const acquired: number[] = [];
      for (const job of this.host.jobs())
        if (job.scaleSetId === set.id && job.status === 'queued' && !job.acquired && body?.includes?.(job.requestId)) {
          job.acquired = true;
          acquired.push(job.requestId!);
          this.post(set, [{ ...this.jobMessage(job, 'JobAssigned'), scaleSetAssignTime: new Date().toISOString() }]);
          this.host.jobAcquired(job);
        }
      return { status: 200, body: { count: acquired.length, value: acquired } };
    }
    if (tail === '/generatejitconfig' && method === 'POST') {
      const runner = this.host.registerRunner(set, String(body?.name));
      return {
        status: 200,
        body: {
          runner: { id: runner.id, name: body?.name, runnerScaleSetId: set.id },
          encodedJITConfig: runner.encoded,
        },
      };
    }
    return { status: 404, body: { message: 'Not Found' } };
  }

  /** GET messages (the long poll) and DELETE messages/{id}, authorised by the session's queue token. */
  private async queueRoute(
    method: string,
    id: number,
    messageId: string | undefined,
    bearer: string,
    url: URL,
    maxCapacity: string | undefined,
  ) {
    const set = this.scaleSets.get(id);
    if (!set || !set.session || url.searchParams.get('sessionId') !== set.session.id)
      return { status: 404, body: { message: 'session not found' } };
    if (bearer !== set.session.queueToken) return { status: 401, body: { message: 'queue token expired' } };
    set.session.lastSeen = Date.now();
    if (method === 'DELETE' && messageId) {
      set.queue = set.queue.filter((m) => m.id !== Number(messageId));
      return { status: 204 };
    }
    if (method !== 'GET') return { status: 405 };
    const last = Number(url.searchParams.get('lastMessageId') ?? 0);
    set.maxCapacity = Number(maxCapacity ?? 0);
    this.polls.push({ scaleSetId: id, lastMessageId: last, maxCapacity: set.maxCapacity });
    // Messages up to the one the client last saw count as acknowledged.
    set.queue = set.queue.filter((m) => m.id > last);
    this.offer(set);
    if (set.queue.length === 0) {
      const session = set.session;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => set.wake?.(), this.opts.longPollMs ?? 2_000);
        set.wake = () => {
          clearTimeout(timer);
          set.wake = undefined;
          resolve();
        };
      });
      if (set.session !== session || !this.scaleSets.has(id))
        return { status: 404, body: { message: 'session not found' } };
    }
    const next = set.queue[0];
    if (!next) return { status: 202 };
    set.session.lastSeen = Date.now();
    return {
      status: 200,
      body: {
        messageId: next.id,
        messageType: 'RunnerScaleSetJobMessages',
        body: JSON.stringify(next.body),
        statistics: this.statistics(set),
      },
    };
  }

  /** A job the stand-in queued: it belongs to the first scale set that covers its labels and reaches its repo. */
  jobQueued(): void {
    this.routeJobs();
    for (const set of this.scaleSets.values()) this.offer(set);
  }

  /** A scale set's runner took the job (JobStarted), or finished it (JobCompleted). */
  jobStarted(job: ServiceJob): void {
    const set = job.scaleSetId === undefined ? undefined : this.scaleSets.get(job.scaleSetId);
    if (set)
      this.post(set, [
        {
          ...this.jobMessage(job, 'JobStarted'),
          runnerId: job.runnerId,
          runnerName: job.runnerName,
          runnerAssignTime: new Date().toISOString(),
        },
      ]);
  }

  jobCompleted(job: ServiceJob, result: string): void {
    const set = job.scaleSetId === undefined ? undefined : this.scaleSets.get(job.scaleSetId);
    if (set)
      this.post(set, [
        {
          ...this.jobMessage(job, 'JobCompleted'),
          result,
          runnerId: job.runnerId ?? 0,
          runnerName: job.runnerName ?? '',
          finishTime: new Date().toISOString(),
        },
      ]);
  }

  /** The service evicts the scale set's session (its queue answers 404 until a new session is made). */
  evictSession(scaleSetId: number): void {
    const set = this.scaleSets.get(scaleSetId)!;
    set.session = undefined;
    set.wake?.();
  }

  /** The session's queue token expires: the queue answers 401 until the session is refreshed. */
  expireQueueToken(scaleSetId: number): void {
    this.scaleSets.get(scaleSetId)!.session!.queueToken = 'expired';
  }

  /** Another owner holds a live session (a listener that crashed a moment ago): new sessions get 409 until it lapses. */
  holdSession(scaleSetId: number, owner = 'crashed-listener'): void {
    const set = this.scaleSets.get(scaleSetId)!;
    set.session = { id: randomUUID(), owner, queueToken: 'held', lastSeen: Date.now() };
  }

  /** Deletes the scale set on the service side: its jobs not yet started wait for a scale set again. */
  deleteScaleSet(id: number): void {
    const set = this.scaleSets.get(id);
    if (!set) return;
    this.scaleSets.delete(id);
    set.wake?.();
    for (const job of this.host.jobs())
      if (job.scaleSetId === id && job.status === 'queued') {
        delete job.scaleSetId;
        delete job.acquired;
        delete job.offeredAt;
      }
  }

  byName(name: string): ScaleSet | undefined {
    return [...this.scaleSets.values()].find((s) => s.name === name);
  }

  /** Routes unrouted queued jobs to a scale set, and offers again what was not acquired in time. */
  private tick(): void {
    this.routeJobs();
    const limit = this.opts.acquireMs ?? 5_000;
    for (const job of this.host.jobs())
      if (job.scaleSetId !== undefined && job.status === 'queued' && !job.acquired && job.offeredAt !== undefined)
        if (Date.now() - job.offeredAt > limit) delete job.offeredAt; // requeued: offered again below
    for (const set of this.scaleSets.values()) this.offer(set);
  }

  private routeJobs(): void {
    for (const job of this.host.jobs()) {
      if (job.status !== 'queued' || job.scaleSetId !== undefined) continue;
      const have = (s: ScaleSet) => new Set(s.labels.map((l) => l.toLowerCase()));
      const set = [...this.scaleSets.values()].find(
        (s) =>
          this.host.reaches(s.scope, s.runnerGroupId, job.repo) &&
          job.labels.every((l) => have(s).has(l.toLowerCase())),
      );
      if (!set) continue;
      job.scaleSetId = set.id;
      job.requestId ??= this.nextRequestId++;
    }
  }

  /** Offers the scale set's waiting jobs, oldest first, as far as its announced capacity allows. */
  private offer(set: ScaleSet): void {
    if (!set.session) return;
    const mine = [...this.host.jobs()].filter((j) => j.scaleSetId === set.id && j.status !== 'completed');
    let busy = mine.filter((j) => j.acquired || j.status === 'in_progress' || j.offeredAt !== undefined).length;
    for (const job of mine) {
      if (busy >= set.maxCapacity) break;
      if (job.status !== 'queued' || job.acquired || job.offeredAt !== undefined) continue;
      job.offeredAt = Date.now();
      busy++;
      this.post(set, [
        {
          ...this.jobMessage(job, 'JobAvailable'),
          acquireJobUrl: `${this.host.url}${API}/${set.id}/acquirejobs`,
        },
      ]);
    }
  }

  private post(set: ScaleSet, body: unknown[]): void {
    set.queue.push({ id: set.nextMessageId++, body });
    if (this.opts.repeatMessages) set.queue.push({ id: set.nextMessageId++, body });
    set.wake?.();
  }

  private jobMessage(job: ServiceJob, messageType: string) {
    const [owner, name] = job.repo.split('/');
    return {
      messageType,
      runnerRequestId: job.requestId,
      repositoryName: name,
      ownerName: owner,
      jobId: `${job.runId}-${job.id}`,
      jobWorkflowRef: `${job.repo}/.github/workflows/ci.yml@refs/heads/main`,
      jobDisplayName: 'build',
      workflowRunId: job.runId,
      eventName: job.event,
      requestLabels: job.labels,
      queueTime: new Date(job.queuedAt).toISOString(),
    };
  }

  private statistics(set: ScaleSet) {
    const mine = [...this.host.jobs()].filter((j) => j.scaleSetId === set.id && j.status !== 'completed');
    const count = (p: (j: ServiceJob) => boolean) => mine.filter(p).length;
    return {
      totalAvailableJobs: count((j) => j.status === 'queued' && !j.acquired),
      totalAcquiredJobs: count((j) => j.status === 'queued' && j.acquired === true),
      totalAssignedJobs: count((j) => j.acquired === true),
      totalRunningJobs: count((j) => j.status === 'in_progress'),
      totalRegisteredRunners: 0,
      totalBusyRunners: count((j) => j.status === 'in_progress'),
      totalIdleRunners: 0,
    };
  }

  private json(s: ScaleSet) {
    return {
      id: s.id,
      name: s.name,
      runnerGroupId: s.runnerGroupId,
      runnerGroupName: s.runnerGroupName,
      labels: s.labels.map((name) => ({ type: 'System', name })),
      RunnerSetting: {},
      createdOn: s.createdOn,
      runnerJitConfigUrl: `${this.host.url}${API}/${s.id}/generatejitconfig`,
      statistics: this.statistics(s),
    };
  }

  private sessionJson(set: ScaleSet) {
    const s = set.session!;
    return {
      sessionId: s.id,
      ownerName: s.owner,
      runnerScaleSet: this.json(set),
      messageQueueUrl: `${this.host.url}${API}/${set.id}/messages?sessionId=${s.id}`,
      messageQueueAccessToken: s.queueToken,
      statistics: this.statistics(set),
    };
  }

  private groupId(scope: ScaleSetScope, name: string): number | undefined {
    return this.groupOf(scope, (g) => g.name.toLowerCase() === name.toLowerCase())?.id;
  }

  private groupName(scope: ScaleSetScope, id: number): string | undefined {
    return this.groupOf(scope, (g) => g.id === id)?.name;
  }

  /** A repo scope has the Default group only; an org's groups come from the stand-in's org. */
  private groupOf(scope: ScaleSetScope, pick: (g: { id: number; name: string }) => boolean) {
    return this.host.groupsOf(scope).find(pick);
  }
}

function sameScope(a: ScaleSetScope, b: ScaleSetScope): boolean {
  return 'repo' in a && 'repo' in b
    ? a.repo.toLowerCase() === b.repo.toLowerCase()
    : 'org' in a && 'org' in b && a.org.toLowerCase() === b.org.toLowerCase();
}
