// The most containers with a label running at once, as Docker's own start and die events show them: what the burst
// tests and benches hold the controller's caps against, measured outside the controller.
import type Docker from 'dockerode';

export interface ConcurrencyWatch {
  /** The most running at once since the watch began (counting those running when it began). */
  max(): number;
  stop(): void;
}

/** `label` is a Docker label filter (`key=value`); containers already running with it count from the start. */
export async function watchConcurrency(docker: Docker, label: string): Promise<ConcurrencyWatch> {
  const stream = (await docker.getEvents({
    filters: JSON.stringify({ type: ['container'], event: ['start', 'die'], label: [label] }),
  })) as NodeJS.ReadableStream & { destroy(): void };
  // Listed after subscribing, so a container that starts in between is seen by one or both, never by neither.
  const running = new Set(
    (await docker.listContainers({ filters: JSON.stringify({ label: [label] }) })).map((c) => c.Id),
  );
  let max = running.size;
  // Events arrive as JSON lines, and a chunk can end mid-line.
  let buffered = '';
  stream.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const event = JSON.parse(buffered.slice(0, nl)) as { status?: string; Action?: string; id: string };
      buffered = buffered.slice(nl + 1);
      if ((event.Action ?? event.status) === 'start') running.add(event.id);
      else running.delete(event.id);
      max = Math.max(max, running.size);
    }
  });
  return { max: () => max, stop: () => stream.destroy() };
}
