// The Docker engine behind the few calls the controller makes, through dockerode.
import type { Duplex, Writable } from 'node:stream';
import Docker from 'dockerode';
import { LABEL, identityFromLabels, type RunnerIdentity } from '../model/runner.js';
import { SECRET_VARIABLES, scrubSecrets } from '../observe/secret-values.js';

export interface ManagedContainer {
  id: string;
  name: string;
  running: boolean;
  /** Docker shows it stopped (exited or dead); `created` is neither running nor exited: its start is under way. */
  exited: boolean;
  createdAt: number;
  identity: RunnerIdentity | undefined;
}

/** A container created with its stdin, stdout and stderr attached, not yet started (`factory lane run`). */
export interface AttachedContainer {
  id: string;
  /** The container's stdin to write; its output to read, raw on a tty, multiplexed otherwise (see `demux`). */
  stream: Duplex;
  /** Splits a non-tty container's multiplexed output into its stdout and stderr. */
  demux(stdout: Writable, stderr: Writable): void;
  start(): Promise<void>;
  /** Its exit code, once it has exited. */
  wait(): Promise<number>;
  resize(rows: number, columns: number): Promise<void>;
  kill(signal: string): Promise<void>;
}

export interface Engine {
  ping(): Promise<void>;
  hasImage(ref: string): Promise<boolean>;
  /** Whether a network of this name exists (a profile naming a missing one would fail every job at create). */
  hasNetwork(name: string): Promise<boolean>;
  /** Creates and starts; a container that fails to start is removed before the error is thrown. */
  run(spec: Docker.ContainerCreateOptions): Promise<string>;
  listManaged(): Promise<ManagedContainer[]>;
  /**
   * The container's last log lines, with the values of the variables its `factory.secret-env` label names (the JIT
   * config, env-file values) already replaced: the tail never leaves the engine with a secret the job printed.
   */
  tailLogs(id: string, lines: number): Promise<string>;
  /**
   * When `text` first appears in the container's output (the runner's "Listening for Jobs": it is online), read as
   * it comes; undefined when the output ends or `timeoutMs` pass first. Nothing of the output is kept. Backends that
   * cannot follow a container's output leave it out.
   */
  waitForOutput?(id: string, text: string, timeoutMs: number): Promise<number | undefined>;
  /** Kills and removes; a container that is already gone counts as removed. */
  remove(id: string): Promise<void>;
  /** Runs a short-lived helper container (doctor probes) to its end, then removes it. */
  runToExit(
    spec: Docker.ContainerCreateOptions,
    timeoutMs: number,
  ): Promise<{ exitCode: number; output: string; timedOut: boolean }>;
  /** Creates a container with its stdio attached; the caller starts it and removes it when done. */
  attach(spec: Docker.ContainerCreateOptions): Promise<AttachedContainer>;
  /**
   * Calls onExit with the id of every managed container that stops (and why, when the backend knows more than "it
   * exited"), replaying those since `sinceSeconds` so exits during a reconnect are not lost; returns a function that
   * stops watching.
   */
  watchExits(
    onExit: (id: string, reason?: string) => void,
    onEnd: (err?: Error) => void,
    sinceSeconds?: number,
  ): Promise<() => void>;
}

/** Errors that mean the daemon itself cannot be reached, as opposed to a request it refused. */
export function isDockerDown(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === 'ECONNREFUSED' || code === 'ENOENT' || code === 'EACCES' || code === 'ECONNRESET' || code === 'EPIPE';
}

const statusOf = (err: unknown) => (err as { statusCode?: number })?.statusCode;

/** The engine as one controller instance sees it: it lists and watches only its own instance's containers. */
export function dockerEngine(socketPath: string, instance = 'default'): Engine {
  const docker = new Docker({ socketPath });
  const ours = [`${LABEL.managed}=true`, `${LABEL.instance}=${instance}`];
  const managed = JSON.stringify({ label: ours });

  return {
    async ping() {
      await docker.ping();
    },

    async hasImage(ref) {
      try {
        await docker.getImage(ref).inspect();
        return true;
      } catch (err) {
        if (statusOf(err) === 404) return false;
        throw err;
      }
    },

    async hasNetwork(name) {
      try {
        await docker.getNetwork(name).inspect();
        return true;
      } catch (err) {
        if (statusOf(err) === 404) return false;
        throw err;
      }
    },

    async run(spec) {
      const container = await docker.createContainer(spec);
      try {
        await container.start();
      } catch (err) {
        await container.remove({ force: true }).catch(() => {});
        throw err;
      }
      return container.id;
    },

    async listManaged() {
      const list = await docker.listContainers({ all: true, filters: managed });
      return list.map((c) => ({
        id: c.Id,
        name: (c.Names[0] ?? '').replace(/^\//, ''),
        running: c.State === 'running',
        exited: c.State === 'exited' || c.State === 'dead',
        createdAt: c.Created * 1000,
        identity: identityFromLabels(c.Labels),
      }));
    },

    async tailLogs(id, lines) {
      try {
        const container = docker.getContainer(id);
        const { Config } = await container.inspect();
        const raw = (await container.logs({
          stdout: true,
          stderr: true,
          tail: lines,
          follow: false,
        })) as unknown as Buffer;
        return scrubSecrets(demux(raw), secretValues(Config.Env ?? [], Config.Labels?.[LABEL.secretEnv]));
      } catch (err) {
        if (statusOf(err) === 404) return '';
        throw err;
      }
    },

    async waitForOutput(id, text, timeoutMs) {
      const stream = (await docker
        .getContainer(id)
        .logs({ stdout: true, stderr: true, follow: true })) as unknown as NodeJS.ReadableStream & {
        destroy(): void;
      };
      return new Promise<number | undefined>((resolve) => {
        // A frame header or a chunk's edge may split the text: the last few bytes are searched again with the next.
        let carry = '';
        const done = (at: number | undefined) => {
          clearTimeout(timer);
          stream.destroy();
          resolve(at);
        };
        const timer = setTimeout(() => done(undefined), timeoutMs);
        timer.unref();
        stream.on('data', (chunk: Buffer) => {
          const seen = carry + chunk.toString('latin1');
          if (seen.includes(text)) return done(Date.now());
          carry = seen.slice(-(text.length + 8));
        });
        stream.on('end', () => done(undefined));
        stream.on('error', () => done(undefined));
      });
    },

    async remove(id) {
      try {
        await docker.getContainer(id).remove({ force: true });
      } catch (err) {
        // 404: already gone; 409: removal already in progress (a second cleanup raced us).
        if (statusOf(err) === 404 || statusOf(err) === 409) return;
        throw err;
      }
    },

    async runToExit(spec, timeoutMs) {
      const container = await docker.createContainer(spec);
      try {
        await container.start();
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
        const result = await Promise.race([container.wait() as Promise<{ StatusCode: number }>, timeout]);
        clearTimeout(timer);
        if (result === 'timeout') await container.kill().catch(() => {});
        const raw = (await container.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
        return {
          exitCode: result === 'timeout' ? -1 : result.StatusCode,
          output: demux(raw),
          timedOut: result === 'timeout',
        };
      } finally {
        await container.remove({ force: true }).catch(() => {});
      }
    },

    async attach(spec) {
      const container = await docker.createContainer(spec);
      let stream: Duplex;
      try {
        const options = { stream: true, stdin: true, stdout: true, stderr: true, hijack: true };
        stream = (await container.attach(options)) as unknown as Duplex;
      } catch (err) {
        await container.remove({ force: true }).catch(() => {});
        throw err;
      }
      return {
        id: container.id,
        stream,
        demux: (stdout, stderr) => docker.modem.demuxStream(stream, stdout, stderr),
        start: async () => void (await container.start()),
        wait: async () => ((await container.wait()) as { StatusCode: number }).StatusCode,
        resize: async (rows, columns) => void (await container.resize({ h: rows, w: columns })),
        kill: async (signal) => void (await container.kill({ signal })),
      };
    },

    async watchExits(onExit, onEnd, sinceSeconds) {
      const stream = (await docker.getEvents({
        ...(sinceSeconds !== undefined ? { since: Math.floor(sinceSeconds) } : {}),
        filters: JSON.stringify({ type: ['container'], event: ['die'], label: ours }),
      })) as NodeJS.ReadableStream & { destroy(): void };
      let buffered = '';
      stream.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('utf8');
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (!line.trim()) continue;
          try {
            const event = JSON.parse(line) as { id?: string; Actor?: { ID?: string } };
            const id = event.Actor?.ID ?? event.id;
            if (id) onExit(id);
          } catch {
            // A torn line cannot happen with newline framing; ignore anything that is not an event.
          }
        }
      });
      let ended = false;
      const end = (err?: Error) => {
        if (ended) return;
        ended = true;
        onEnd(err);
      };
      stream.on('error', end);
      stream.on('end', () => end());
      stream.on('close', () => end());
      return () => {
        ended = true;
        stream.destroy();
      };
    },
  };
}

/** Values of the named variables in a container's `KEY=VALUE` environment; the JIT config is always among them. */
export function secretValues(env: readonly string[], names: string | undefined): string[] {
  const wanted = new Set([...SECRET_VARIABLES, ...(names ?? '').split(',').filter(Boolean)]);
  return env.flatMap((line) => {
    const eq = line.indexOf('=');
    return eq > 0 && wanted.has(line.slice(0, eq)) ? [line.slice(eq + 1)] : [];
  });
}

/** Docker multiplexes stdout and stderr of a non-TTY container in 8-byte-headed frames. */
export function demux(raw: Buffer | string): string {
  if (typeof raw === 'string') return raw;
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= raw.length) {
    const size = raw.readUInt32BE(offset + 4);
    parts.push(raw.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
}
