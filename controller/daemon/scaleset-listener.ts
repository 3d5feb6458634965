// One runner scale set's listener: finds or creates the scale set, holds a message session, long-polls its queue
// with the capacity the profile allows, acquires what is offered, and hands every job message on as the delivery a
// webhook would have given. Unlike the official listener it keeps going: a 409, 404 or 401 and a scale set deleted
// under it are recovered (scaleset-recovery.ts), and the cursor (scaleset-cursor.ts) survives a restart: a message
// is handled, then the cursor written, then the message deleted, so a crash repeats a message at worst, and the
// books ignore a job they already hold.
import { ActionsServiceError, type ActionsService, type MessageSession } from '../github/actions-service.js';
import {
  deliveryOf,
  parseScaleSetMessage,
  type JobMessage,
  type ScaleSetMessage,
  type ScaleSetStatistics,
} from '../model/scaleset-message.js';
import type { WorkflowJobDelivery } from '../model/workflow-job.js';
import type { Logger } from '../observe/logger.js';
import { errorMessage } from '../util/error-message.js';
import { readCursor, writeCursor, type ScaleSetCursor } from './scaleset-cursor.js';
import { backoff, recoveryFor, type ListenerStep } from './scaleset-recovery.js';

export interface ScaleSetDefinition {
  name: string;
  labels: string[];
  /** An org's runner group by name; the default group (1) when unset. */
  runnerGroup?: string | undefined;
}

export interface ListenerDeps {
  service: ActionsService;
  scaleSet: ScaleSetDefinition;
  /** The session's owner name, as the service shows it (the controller's host and instance). */
  owner: string;
  /** How many jobs the scale set may be offered at once (sent as X-ScaleSetMaxCapacity). */
  capacity: () => number;
  cursorFile: string;
  deliver: (d: WorkflowJobDelivery) => void;
  /** The scale set was replaced (deleted on the service, made again): runners of the old one will get no job. */
  replaced?: (oldId: number, newId: number) => void;
  log: Logger;
  /** First and longest wait between retries and while another session holds the scale set. */
  retryMs?: { first: number; max: number };
  now?: () => number;
}

export type SessionState = 'starting' | 'live' | 'waiting-for-session' | 'retrying' | 'stopped';

export interface ScaleSetView {
  name: string;
  scaleSetId: number | undefined;
  session: SessionState;
  sessionId: string | undefined;
  lastMessageId: number;
  /** Acquired, not yet started. */
  pending: number;
  statistics: ScaleSetStatistics | undefined;
  lastError: string | undefined;
  /** Recoveries taken, by kind (a 409 wait, a new session, a refreshed token, a scale set found again). */
  recoveries: Record<string, number>;
}

export class ScaleSetListener {
  private cursor: ScaleSetCursor;
  private session: MessageSession | undefined;
  private state: SessionState = 'starting';
  private statistics: ScaleSetStatistics | undefined;
  private lastError: string | undefined;
  private readonly recoveries: Record<string, number> = {};
  private stopped = false;
  private abort = new AbortController();
  private loop: Promise<void> | undefined;
  private wakeWait: (() => void) | undefined;

  constructor(private readonly deps: ListenerDeps) {
    this.cursor = readCursor(deps.cursorFile);
  }

  get scaleSetId(): number | undefined {
    return this.cursor.scaleSetId;
  }

  view(): ScaleSetView {
    return {
      name: this.deps.scaleSet.name,
      scaleSetId: this.cursor.scaleSetId,
      session: this.state,
      sessionId: this.session?.sessionId,
      lastMessageId: this.cursor.lastMessageId,
      pending: Object.keys(this.cursor.pending).length,
      statistics: this.statistics,
      lastError: this.lastError,
      recoveries: { ...this.recoveries },
    };
  }

  /** The jobs acquired and not yet started, as `queued` deliveries: offered again, the books take only what they lack. */
  pendingDeliveries(): WorkflowJobDelivery[] {
    const now = (this.deps.now ?? Date.now)();
    return Object.values(this.cursor.pending).map((job) =>
      deliveryOf(job, 'queued', `scaleset-pending-${job.runnerRequestId}`, now),
    );
  }

  /** At start: what the last run held, said again (acquired jobs as queued, started ones as in_progress). */
  start(): void {
    const now = (this.deps.now ?? Date.now)();
    for (const d of this.pendingDeliveries()) this.deps.deliver(d);
    for (const job of Object.values(this.cursor.running))
      this.deps.deliver(deliveryOf(job, 'in_progress', `scaleset-running-${job.runnerRequestId}`, now));
    this.loop = this.run();
  }

  /** Ends the poll and deletes the session, so the next start gets one at once instead of a 409. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    this.wakeWait?.();
    await this.loop;
    const session = this.session;
    this.session = undefined;
    this.state = 'stopped';
    if (session && this.cursor.scaleSetId !== undefined)
      await this.deps.service.deleteSession(this.cursor.scaleSetId, session.sessionId).catch(() => {});
  }

  private async run(): Promise<void> {
    let attempt = 0;
    while (!this.stopped) {
      let step: ListenerStep = 'find-scale-set';
      try {
        if (this.cursor.scaleSetId === undefined || !this.session) {
          step = 'find-scale-set';
          if (this.cursor.scaleSetId === undefined) await this.findScaleSet();
          step = 'create-session';
          await this.createSession();
        }
        step = 'use-session';
        await this.pollOnce();
        attempt = 0;
      } catch (err) {
        if (this.stopped) break;
        const recovery = recoveryFor(step, err);
        this.lastError = errorMessage(err);
        this.recoveries[recovery] = (this.recoveries[recovery] ?? 0) + 1;
        this.deps.log.warn(
          { scaleSet: this.deps.scaleSet.name, step, recovery, err: this.lastError },
          'scale set: recovering',
        );
        if (recovery === 'refresh-session') {
          await this.refreshSession().catch((e: unknown) => {
            if (recoveryFor('refresh-session', e) === 'new-session') this.session = undefined;
          });
          continue;
        }
        if (recovery === 'new-session') this.session = undefined;
        if (recovery === 'find-scale-set') {
          this.session = undefined;
          this.cursor = { ...this.cursor, scaleSetId: undefined };
        }
        if (recovery === 'new-session' || recovery === 'find-scale-set') continue;
        this.state = recovery === 'wait-for-session' ? 'waiting-for-session' : 'retrying';
        const { first, max } = this.deps.retryMs ?? { first: 1_000, max: 30_000 };
        await this.wait(backoff(attempt++, first, max));
      }
    }
  }

  /** The scale set by name in its runner group, created when missing; a new id starts a new queue (cursor 0). */
  private async findScaleSet(): Promise<void> {
    const { service, scaleSet, log } = this.deps;
    const groupId = scaleSet.runnerGroup ? await service.runnerGroupId(scaleSet.runnerGroup) : 1;
    const found =
      (await service.getScaleSet(groupId, scaleSet.name)) ??
      (await service.createScaleSet({ name: scaleSet.name, runnerGroupId: groupId, labels: scaleSet.labels }));
    const old = this.cursor.scaleSetId;
    const known = readCursor(this.deps.cursorFile).scaleSetId;
    const previous = old ?? known;
    if (previous !== found.id) {
      log.info(
        { scaleSet: scaleSet.name, id: found.id, previous },
        'scale set ready (a new queue: cursor starts over)',
      );
      this.cursor = { ...this.cursor, scaleSetId: found.id, lastMessageId: 0 };
      this.save();
      if (previous !== undefined) this.deps.replaced?.(previous, found.id);
    } else this.cursor = { ...this.cursor, scaleSetId: found.id };
  }

  private async createSession(): Promise<void> {
    this.session = await this.deps.service.createSession(this.cursor.scaleSetId!, this.deps.owner);
    this.state = 'live';
    this.lastError = undefined;
    this.deps.log.info(
      { scaleSet: this.deps.scaleSet.name, session: this.session.sessionId, lastMessageId: this.cursor.lastMessageId },
      'scale set session open',
    );
  }

  private async refreshSession(): Promise<void> {
    if (!this.session || this.cursor.scaleSetId === undefined) return;
    this.session = await this.deps.service.refreshSession(this.cursor.scaleSetId, this.session.sessionId);
  }

  private async pollOnce(): Promise<void> {
    const session = this.session!;
    const raw = await this.deps.service.getMessage(
      session,
      this.cursor.lastMessageId,
      this.deps.capacity(),
      this.abort.signal,
    );
    if (raw === undefined) return;
    const message = parseScaleSetMessage(raw);
    if ('error' in message) {
      // An unreadable message would block the queue for good: skipped, and said.
      this.deps.log.error({ scaleSet: this.deps.scaleSet.name, err: message.error }, 'scale set: message skipped');
      const id = (raw as { messageId?: number }).messageId;
      if (typeof id === 'number') this.advance(id);
      return;
    }
    await this.handle(message, session);
    this.advance(message.messageId);
    await this.deps.service.deleteMessage(this.session ?? session, message.messageId).catch((err: unknown) => {
      // The next poll names it as the last seen, which acknowledges it as well.
      if (!(err instanceof ActionsServiceError && err.status === 404))
        this.deps.log.debug({ err: errorMessage(err) }, 'scale set: message delete failed');
    });
  }

  /** Acquisitions first (as the official listener does), then every job message in order. */
  private async handle(message: ScaleSetMessage, session: MessageSession): Promise<void> {
    if (message.statistics) this.statistics = message.statistics;
    const at = (this.deps.now ?? Date.now)();
    const id = (i: number) => `scaleset-${this.cursor.scaleSetId}-${message.messageId}-${i}`;
    const available = message.jobs.filter((j) => j.messageType === 'JobAvailable');
    if (available.length > 0) {
      const got = new Set(
        await this.deps.service.acquireJobs(
          this.cursor.scaleSetId!,
          session,
          available.map((j) => j.runnerRequestId),
        ),
      );
      for (const job of available) if (got.has(job.runnerRequestId)) this.hold(job);
    }
    message.jobs.forEach((job, i) => {
      const d = (action: 'queued' | 'in_progress' | 'completed') =>
        this.deps.deliver(deliveryOf(job, action, id(i), at));
      switch (job.messageType) {
        case 'JobAvailable':
          if (this.cursor.pending[job.runnerRequestId]) d('queued');
          break;
        case 'JobAssigned':
          this.hold(job);
          d('queued');
          break;
        case 'JobStarted':
          this.release(job);
          this.cursor.running[job.runnerRequestId] = job;
          d('in_progress');
          break;
        case 'JobCompleted':
          this.release(job);
          delete this.cursor.running[job.runnerRequestId];
          d('completed');
          break;
      }
    });
  }

  private hold(job: JobMessage): void {
    this.cursor.pending[job.runnerRequestId] ??= job;
  }

  private release(job: JobMessage): void {
    delete this.cursor.pending[job.runnerRequestId];
  }

  private advance(messageId: number): void {
    this.cursor = { ...this.cursor, lastMessageId: Math.max(this.cursor.lastMessageId, messageId) };
    this.save();
  }

  private save(): void {
    writeCursor(this.deps.cursorFile, this.cursor);
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeWait = done;
    });
  }
}
