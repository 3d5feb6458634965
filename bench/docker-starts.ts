// Docker's own record of when each container started: the `start` events, with the daemon's nanosecond clock.
import type Docker from 'dockerode';

interface StartEvent {
  attributes: Record<string, string>;
  atMs: number;
}

export class StartEvents {
  private readonly seen: StartEvent[] = [];
  private readonly waiters: Array<{ match: (a: Record<string, string>) => boolean; resolve: (atMs: number) => void }> =
    [];

  private constructor(private readonly stream: NodeJS.ReadableStream & { destroy(): void }) {
    let buffered = '';
    stream.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.trim())
          this.add(JSON.parse(line) as { timeNano: number; Actor?: { Attributes?: Record<string, string> } });
      }
    });
  }

  static async open(docker: Docker): Promise<StartEvents> {
    const stream = await docker.getEvents({ filters: JSON.stringify({ type: ['container'], event: ['start'] }) });
    return new StartEvents(stream as NodeJS.ReadableStream & { destroy(): void });
  }

  private add(e: { timeNano: number; Actor?: { Attributes?: Record<string, string> } }): void {
    const event = { attributes: e.Actor?.Attributes ?? {}, atMs: e.timeNano / 1e6 };
    this.seen.push(event);
    for (const w of [...this.waiters]) {
      if (w.match(event.attributes)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(event.atMs);
      }
    }
  }

  /** When the first container matching the attributes (name, labels) started; waits for it if need be. */
  wait(what: string, match: (attributes: Record<string, string>) => boolean, timeoutMs = 30_000): Promise<number> {
    const found = this.seen.find((e) => match(e.attributes));
    if (found) return Promise.resolve(found.atMs);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no Docker start event for ${what} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiters.push({ match, resolve: (at) => (clearTimeout(timer), resolve(at)) });
    });
  }

  close(): void {
    this.stream.destroy();
  }
}
