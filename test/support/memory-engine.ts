// An in-memory Docker engine for unit tests of the controller and reconciler: containers with Docker's states
// (created, running, exited), exit events, and fault switches for the races a real daemon produces. It counts the
// most job containers it ever ran at once, as Docker events would show them.
import type Docker from 'dockerode';
import type { AttachedContainer, Engine, ManagedContainer } from '../../controller/docker/docker-engine.js';
import { identityFromLabels } from '../../controller/model/runner.js';

export interface MemoryContainer {
  id: string;
  name: string;
  labels: Record<string, string>;
  env: string[];
  state: 'created' | 'running' | 'exited';
  createdAt: number;
}

export interface EngineFaults {
  /** `docker start` fails (the container is removed, as the real engine does). */
  startFails: boolean;
  /** The daemon is unreachable: every call fails with ECONNREFUSED. */
  down: boolean;
  /** The daemon starts the container, then the connection drops before `run` answers. */
  downMidRun: boolean;
  /** The container exits before `run` returns (a runner that dies at once). */
  exitBeforeRunReturns: boolean;
  /** Exit events are not delivered (a broken event stream that nobody noticed). */
  exitEventsLost: boolean;
  /** Holds every container in `created` until this settles: a slow `docker start`. */
  holdStart?: Promise<void>;
  /**
   * Holds every container listing's answer until this settles, with what it saw when asked: a slow list (Swarm's
   * takes three calls) whose picture is older than its answer.
   */
  holdList?: Promise<void>;
}

const unreachable = () =>
  Object.assign(new Error('connect ECONNREFUSED /var/run/docker.sock'), { code: 'ECONNREFUSED' });

export class MemoryEngine implements Engine {
  readonly containers = new Map<string, MemoryContainer>();
  readonly faults: EngineFaults = {
    startFails: false,
    down: false,
    downMidRun: false,
    exitBeforeRunReturns: false,
    exitEventsLost: false,
  };
  /** Called when a container starts running: the test's runner process begins. */
  onStart: (c: MemoryContainer) => void = () => {};
  /** Called when a running container's process ends (it exited, or was killed by a remove). */
  onStop: (c: MemoryContainer) => void = () => {};
  maxRunning = 0;
  private nextId = 1;
  private watchers = new Set<{ onExit: (id: string) => void; onEnd: (err?: Error) => void }>();

  constructor(private readonly now: () => number = Date.now) {}

  get running(): MemoryContainer[] {
    return [...this.containers.values()].filter((c) => c.state === 'running');
  }

  /** The container's process ends (the runner finished, crashed or was never able to connect). */
  exit(id: string): void {
    const c = this.containers.get(id);
    if (!c || c.state === 'exited') return;
    const wasRunning = c.state === 'running';
    c.state = 'exited';
    if (wasRunning) this.onStop(c);
    if (!this.faults.exitEventsLost) for (const w of this.watchers) w.onExit(id);
  }

  /** Takes the daemon away: the event streams end, every call fails until `up()`. */
  goDown(): void {
    this.faults.down = true;
    for (const w of [...this.watchers]) w.onEnd(unreachable());
    this.watchers.clear();
  }

  up(): void {
    this.faults.down = false;
  }

  private check(): void {
    if (this.faults.down) throw unreachable();
  }

  async ping(): Promise<void> {
    await tick();
    this.check();
  }

  async hasImage(): Promise<boolean> {
    this.check();
    return true;
  }

  async hasNetwork(name: string): Promise<boolean> {
    this.check();
    return name !== 'no-such-network';
  }

  async run(spec: Docker.ContainerCreateOptions): Promise<string> {
    await tick();
    this.check();
    const id = `c${String(this.nextId++).padStart(63, '0')}`;
    const c: MemoryContainer = {
      id,
      name: spec.name!,
      labels: spec.Labels ?? {},
      env: spec.Env ?? [],
      state: 'created',
      createdAt: this.now(),
    };
    this.containers.set(id, c);
    await tick();
    await this.faults.holdStart;
    if (this.faults.startFails || this.faults.down) {
      this.containers.delete(id);
      throw this.faults.down
        ? unreachable()
        : Object.assign(new Error('OCI runtime create failed'), { statusCode: 500 });
    }
    c.state = 'running';
    this.maxRunning = Math.max(this.maxRunning, this.running.length);
    this.onStart(c);
    if (this.faults.exitBeforeRunReturns) this.exit(id);
    await tick();
    if (this.faults.downMidRun) throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    return id;
  }

  async listManaged(): Promise<ManagedContainer[]> {
    await tick();
    this.check();
    const seen = [...this.containers.values()].map((c) => ({
      id: c.id,
      name: c.name,
      running: c.state === 'running',
      exited: c.state === 'exited',
      createdAt: c.createdAt,
      identity: identityFromLabels(c.labels),
    }));
    await this.faults.holdList;
    return seen;
  }

  async tailLogs(): Promise<string> {
    await tick();
    this.check();
    return 'Listening for Jobs\n';
  }

  async remove(id: string): Promise<void> {
    await tick();
    this.check();
    const c = this.containers.get(id);
    this.containers.delete(id);
    if (c?.state === 'running') this.onStop(c);
  }

  async runToExit(): Promise<{ exitCode: number; output: string; timedOut: boolean }> {
    throw new Error('MemoryEngine: runToExit is not modelled');
  }

  async attach(): Promise<AttachedContainer> {
    throw new Error('MemoryEngine: attach is not modelled');
  }

  async watchExits(onExit: (id: string) => void, onEnd: (err?: Error) => void): Promise<() => void> {
    this.check();
    const w = { onExit, onEnd };
    this.watchers.add(w);
    return () => void this.watchers.delete(w);
  }
}

/** One turn of the event loop: lets other work interleave, as a real daemon's round trip does. */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
