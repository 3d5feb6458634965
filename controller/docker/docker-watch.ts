// The one owner of "is Docker up". It follows the engine's exit events; anyone whose Docker call failed because the
// daemon is unreachable reports it here, and everyone else subscribes. While down it probes with backoff; once the
// daemon answers and the event stream is back, it tells subscribers in the order they subscribed (the reconciler
// first, so containers that survived the outage are adopted before waiting jobs start).
import type { Logger } from '../observe/logger.js';
import { isDockerDown, type Engine } from './docker-engine.js';

export interface DockerSubscriber {
  /** Docker answers again; awaited one subscriber after the other. */
  up?(): void | Promise<void>;
  down?(reason: string): void;
  exit?(containerId: string, reason?: string): void;
}

/** What the controller and reconciler see of the watch. */
export interface DockerState {
  readonly isUp: boolean;
  /** Hands over an error from a Docker call; true when it means the daemon is unreachable (the watch takes it from there). */
  report(err: unknown): boolean;
  subscribe(subscriber: DockerSubscriber): () => void;
}

export class DockerWatch implements DockerState {
  private up = true;
  private readonly subscribers: DockerSubscriber[] = [];
  private unwatch: (() => void) | undefined;
  private probing = false;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  /** When the event stream was last lost (ms), until a new one is up. */
  private lostAt: number | undefined;

  constructor(
    private readonly engine: Engine,
    private readonly log: Logger,
    private readonly maxBackoffMs = 15_000,
  ) {}

  get isUp(): boolean {
    return this.up;
  }

  subscribe(subscriber: DockerSubscriber): () => void {
    this.subscribers.push(subscriber);
    return () => void this.subscribers.splice(this.subscribers.indexOf(subscriber), 1);
  }

  report(err: unknown): boolean {
    if (!isDockerDown(err)) return false;
    this.lose(err);
    return true;
  }

  /** Starts following exit events; false (and probing) when Docker does not answer. */
  async connect(): Promise<boolean> {
    // After an outage, replay exits from shortly before the stream broke: a container that died while we were away,
    // or between the reconnect and the subscription taking effect, is cleaned up all the same.
    const since = this.lostAt === undefined ? undefined : Math.floor(this.lostAt / 1000) - 1;
    try {
      this.unwatch = await this.engine.watchExits(
        (id, reason) => this.each((s) => s.exit?.(id, reason)),
        (err) => {
          if (this.closed) return;
          this.lostAt ??= Date.now();
          this.lose(err ?? new Error('Docker event stream ended'));
        },
        since,
      );
      this.lostAt = undefined;
      return true;
    } catch (err) {
      if (!isDockerDown(err)) this.log.error({ err: String(err) }, 'watching Docker events failed');
      this.lose(err);
      return false;
    }
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.unwatch?.();
  }

  private lose(err: unknown): void {
    if (this.up) {
      this.up = false;
      const reason = String((err as Error)?.message ?? err);
      this.log.error({ err: reason }, 'Docker daemon unreachable: jobs wait until it answers');
      this.each((s) => s.down?.(reason));
    }
    this.reconnect();
  }

  private reconnect(): void {
    if (this.probing || this.closed) return;
    this.probing = true;
    this.unwatch?.();
    let delay = 250;
    const attempt = async () => {
      if (this.closed) return;
      try {
        await this.engine.ping();
        if (await this.connect()) {
          this.probing = false;
          this.up = true;
          this.log.info('Docker daemon answers again');
          for (const s of [...this.subscribers])
            await Promise.resolve(s.up?.()).catch((e) =>
              this.log.error({ err: String(e) }, 'Docker up handler failed'),
            );
          return;
        }
      } catch {
        // still down
      }
      delay = Math.min(delay * 2, this.maxBackoffMs);
      this.timer = setTimeout(() => void attempt(), delay);
    };
    this.timer = setTimeout(() => void attempt(), delay);
  }

  private each(call: (s: DockerSubscriber) => void): void {
    for (const s of [...this.subscribers]) {
      try {
        call(s);
      } catch (err) {
        this.log.error({ err: String(err) }, 'Docker event handler failed');
      }
    }
  }
}
