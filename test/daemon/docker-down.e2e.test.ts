// The Docker daemon going away: jobs wait, /healthz says so, and work resumes by itself when it answers again.
import { afterEach, expect, it } from 'vitest';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CI_LABELS, startHarness, waitFor, type Harness } from '../support/harness.js';

/** A unix socket that forwards to the real daemon while "up", standing in for a daemon that can stop and start. */
class SwitchableDocker {
  readonly dir = mkdtempSync(join(tmpdir(), 'factory-docker-'));
  readonly path = join(this.dir, 'docker.sock');
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  async up(): Promise<void> {
    this.server = createServer((client) => {
      const daemon = createConnection('/var/run/docker.sock');
      for (const s of [client, daemon]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(daemon).pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.path, resolve));
  }

  async down(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }

  async dispose(): Promise<void> {
    await this.down();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

let h: Harness | undefined;
let daemon: SwitchableDocker | undefined;
afterEach(async () => {
  await h?.stop();
  await daemon?.dispose();
  h = daemon = undefined;
});

const health = async (harness: Harness) => {
  const res = await fetch(`${harness.service.url}/healthz`);
  return { status: res.status, body: (await res.json()) as { docker: string; queued: number } };
};

it('holds jobs while Docker is down, reports it in /healthz, and runs them when Docker answers again', async () => {
  daemon = new SwitchableDocker();
  h = await startHarness({ socketPath: daemon.path, jobSeconds: 1 });

  const jobId = await h.github.queueJob(h.repo, CI_LABELS);
  const down = await health(h);
  expect(down.status).toBe(503);
  expect(down.body).toMatchObject({ docker: 'down', queued: 1 });
  expect(h.github.exchanges.filter((x) => x.path.endsWith('/generate-jitconfig'))).toHaveLength(0);

  await daemon.up();
  await waitFor(
    'the job to run once Docker is back',
    () => h!.github.jobs.get(jobId)?.status === 'completed' && h!.service.controller.snapshot().runners.length === 0,
  );
  expect((await health(h)).status).toBe(200);
});

it('notices Docker stopping mid-run and catches up on the exits it missed once it is back', async () => {
  daemon = new SwitchableDocker();
  await daemon.up();
  h = await startHarness({ socketPath: daemon.path, jobSeconds: 2 });
  const jobId = await h.github.queueJob(h.repo, CI_LABELS);
  await waitFor('the job to start', () => h!.github.jobs.get(jobId)?.status === 'in_progress');

  await daemon.down();
  await waitFor('the controller to see Docker down', async () => (await health(h!)).status === 503);
  await waitFor(
    'the job to finish while Docker is unreachable',
    () => h!.github.jobs.get(jobId)?.status === 'completed',
    10_000,
  );
  await daemon.up();

  await waitFor(
    'the exited container to be cleaned after reconnecting',
    async () => h!.service.controller.snapshot().runners.length === 0 && (await h!.containers()).length === 0,
  );
});

it('a container start cut short by Docker is adopted when Docker answers, not started twice', async () => {
  let cut = false;
  h = await startHarness({
    jobSeconds: 2,
    // The daemon starts the container, then the connection drops before the answer arrives.
    wrapEngine: (engine) => ({
      ...engine,
      async run(spec) {
        const id = await engine.run(spec);
        if (cut) return id;
        cut = true;
        throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
      },
    }),
  });
  const jobId = await h.github.queueJob(h.repo, CI_LABELS);

  await waitFor(
    'the job to finish and its container to be cleaned',
    async () =>
      h!.github.jobs.get(jobId)?.status === 'completed' &&
      h!.service.controller.snapshot().runners.length === 0 &&
      (await h!.containers()).length === 0,
  );
  expect(cut).toBe(true);
  expect(h.github.exchanges.filter((x) => x.path.endsWith('/generate-jitconfig'))).toHaveLength(1);
  expect(h.github.runners.size).toBe(0);
});
