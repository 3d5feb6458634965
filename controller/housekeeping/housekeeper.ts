// Runs housekeeping on the config's schedule inside the controller, and remembers the last run and the disk use for
// /status, `factory status` and /metrics.
import Docker from 'dockerode';
import type { Config } from '../config/config.js';
import type { Logger } from '../observe/logger.js';
import { diskUse, dockerRootDir, type DiskUse } from './disk-usage.js';
import { housekeep } from './housekeeping.js';
import { errorMessage } from '../util/error-message.js';

export interface HousekeepingRun {
  at: number;
  durationMs: number;
  removed: { containers: number; images: number; volumes: number };
  bytes: number;
  error?: string;
}

export class Housekeeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<HousekeepingRun> | undefined;
  last: HousekeepingRun | undefined;
  /** The disk use as last measured (on start, each run, each scrape), for the synchronous /status. */
  lastDisk: DiskUse[] = [];
  readonly totals = { containers: 0, images: 0, volumes: 0 };

  constructor(
    private config: Config,
    private readonly docker: Docker,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Docker's data root (as Docker reports it) and the stateDir. */
  async disk(): Promise<DiskUse[]> {
    this.lastDisk = await diskUse([await dockerRootDir(this.docker), this.config.stateDir]);
    return this.lastDisk;
  }

  /** When the next scheduled run is due, if housekeeping runs on a schedule. */
  get nextAt(): number | undefined {
    return this.timer && this.startedAt !== undefined
      ? this.startedAt +
          this.config.housekeeping.every *
            (Math.floor((this.now() - this.startedAt) / this.config.housekeeping.every) + 1)
      : undefined;
  }
  private startedAt: number | undefined;

  start(): void {
    const { every } = this.config.housekeeping;
    void this.disk().catch(() => undefined);
    if (every === 0) return;
    this.startedAt = this.now();
    this.timer = setInterval(() => void this.runOnce(), every);
    this.timer.unref();
  }

  applyConfig(next: Config): void {
    const changed = next.housekeeping.every !== this.config.housekeeping.every;
    this.config = next;
    if (changed && this.timer) {
      this.stop();
      this.start();
    }
  }

  /** One run; concurrent callers share the run in progress. */
  runOnce(): Promise<HousekeepingRun> {
    this.running ??= this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  private async run(): Promise<HousekeepingRun> {
    const { olderThan, workspaces } = this.config.housekeeping;
    const at = this.now();
    let run: HousekeepingRun;
    try {
      const report = await housekeep(
        this.docker,
        { olderThanMs: olderThan, instance: this.config.instance, workspaces },
        false,
        at,
      );
      const removed = {
        containers: report.containers.length,
        images: report.images.length,
        volumes: report.volumes.length,
      };
      for (const k of ['containers', 'images', 'volumes'] as const) this.totals[k] += removed[k];
      run = { at, durationMs: this.now() - at, removed, bytes: report.bytes };
      this.log.info(
        { ...removed, bytes: report.bytes, skipped: report.skipped.length },
        'housekeeping: removed what the factory left behind',
      );
    } catch (err) {
      run = {
        at,
        durationMs: this.now() - at,
        removed: { containers: 0, images: 0, volumes: 0 },
        bytes: 0,
        error: String(errorMessage(err) ?? err),
      };
      this.log.warn({ err: run.error }, 'housekeeping failed; the next run tries again');
    }
    this.last = run;
    await this.disk().catch(() => undefined);
    return run;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
