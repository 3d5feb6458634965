// The quick start: one job end to end, with no GitHub account. A loopback GitHub stand-in registers the runner and
// sends the signed `workflow_job` deliveries; the real local Docker engine runs the stand-in runner image.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../util/package-root.js';
import { configSchema } from '../config/config.js';
import Docker from 'dockerode';
import { dockerEngine } from '../docker/docker-engine.js';
import { ensureImage } from '../images/image-builder.js';
import { createLogger, humanLine, wantsColor } from '../observe/logger.js';
import { startService } from '../daemon/service.js';
import { GitHubStandin } from '../github/standin/github-standin.js';
import { act, EXIT, logLevelOption, newCommand } from './command-line.js';
import { Story, storyLines } from './demo-story.js';
import type { Io } from './io.js';

export const STANDIN_IMAGE = 'factory-test/runner:1';
const DEMO_REPO = 'factory-demo/hello-world';
const WEBHOOK_PATH = '/webhook';

/**
 * Builds the stand-in images with the script `.ci/run` uses when they are not on this host yet, and the runner image
 * again whenever its files changed (an inputs label, as for factory/base), so no run meets a stale stand-in runner.
 */
export async function ensureStandinImages(socketPath = '/var/run/docker.sock'): Promise<void> {
  if (!(await dockerEngine(socketPath).hasImage(STANDIN_IMAGE))) {
    const script = join(packageRoot(), 'scripts', 'build-standin-images.sh');
    const code = await new Promise<number>((resolve) =>
      spawn(script, { stdio: 'inherit' }).on('close', (c) => resolve(c ?? 1)),
    );
    if (code !== 0) throw new Error(`${script} failed (exit ${code})`);
  }
  const contextDir = join(packageRoot(), 'controller', 'github', 'standin', 'runner-image');
  const build = { tag: STANDIN_IMAGE, contextDir, dockerfile: join(contextDir, 'Dockerfile'), buildArgs: {} };
  await ensureImage(new Docker({ socketPath }), { ...build, network: 'none' }, () => {});
}

export function demoCommand(io: Io) {
  const cmd = newCommand('demo', io)
    .summary('run one job end to end against a local GitHub stand-in and the local Docker engine')
    .option('--timeout <seconds>', 'give up after this many seconds', '120')
    // Beside the story: the controller's own log lines from this level up.
    .addOption(logLevelOption().default('warn'));
  return act(cmd, async (opts: { timeout: string; logLevel: string }) => runDemo(opts, io));
}

const LEVEL_NUMBER: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

/**
 * The controller's log as the demo shows it: a numbered story of the job's life, plus the log lines themselves at
 * `shown` and above (warnings and errors by default), one line each.
 */
function demoLogger(io: Io, shown: string) {
  const story = new Story((line) => io.stdout(line));
  const threshold = LEVEL_NUMBER[shown] ?? Infinity;
  const color = wantsColor(process.stdout);
  const destination = {
    write(json: string) {
      const event = JSON.parse(json) as Record<string, unknown>;
      const lines = storyLines(event);
      if (lines) story.tell(lines);
      if ((LEVEL_NUMBER[String(event.level)] ?? 0) >= threshold) io.stdout(`    ${humanLine(json, color).trimEnd()}`);
    },
  };
  // The story needs the info events whatever is shown; debug and trace when asked for.
  const level = threshold < 30 ? shown : 'info';
  return createLogger({ level, pretty: false, destination: destination as unknown as NodeJS.WritableStream });
}

export async function runDemo(values: { timeout: string; logLevel?: string }, io: Io): Promise<number> {
  if (!/^\d+$/.test(values.timeout)) {
    io.stderr(`factory demo: --timeout expects whole seconds, got ${JSON.stringify(values.timeout)}`);
    return EXIT.usage;
  }
  const engine = dockerEngine('/var/run/docker.sock');
  try {
    await engine.ping();
  } catch (err) {
    io.stderr(
      `factory demo: no Docker engine answers on /var/run/docker.sock (${(err as NodeJS.ErrnoException).code}). Install one (apt-get install -y docker.io) and start dockerd; scripts/setup does both.`,
    );
    return 1;
  }
  await ensureStandinImages();

  io.stdout(
    `factory demo: one job end to end. A GitHub stand-in on loopback plays GitHub; your Docker engine runs the job.\n`,
  );
  const github = new GitHubStandin({ jobSeconds: 2 });
  await github.start();
  const env = {
    FACTORY_DEMO_TOKEN: randomBytes(16).toString('hex'),
    FACTORY_DEMO_WEBHOOK_SECRET: randomBytes(16).toString('hex'),
  };
  const stateDir = mkdtempSync(join(tmpdir(), 'factory-demo-'));
  const config = configSchema.parse({
    github: {
      apiUrl: github.url,
      auth: { tokenEnv: 'FACTORY_DEMO_TOKEN' },
      webhook: { host: '127.0.0.1', port: 0, path: WEBHOOK_PATH, secret: { env: 'FACTORY_DEMO_WEBHOOK_SECRET' } },
    },
    reconcileInterval: '10s',
    // Its own state and a free status port, so the demo runs beside a production controller on the same host.
    stateDir,
    status: { port: 0 },
    instance: 'demo', // never adopt or clean a production controller's containers on the same host
    profiles: {
      // Host networking (hence trusted) lets the stand-in runner reach the stand-in GitHub on loopback.
      ci: {
        labels: ['self-hosted', 'factory', 'ci'],
        image: STANDIN_IMAGE,
        cpus: 1,
        memory: '256m',
        pids: 256,
        network: 'host',
        trusted: true,
      },
    },
    repos: [{ repo: DEMO_REPO, profiles: ['ci'], maxConcurrent: 1 }],
  });
  const log = demoLogger(io, values.logLevel ?? 'warn');
  const service = await startService({ config, log, env });
  github.setWebhook({ url: `${service.url}${WEBHOOK_PATH}`, secret: env.FACTORY_DEMO_WEBHOOK_SECRET });

  const jobId = await github.queueJob(DEMO_REPO, ['self-hosted', 'factory', 'ci']);
  const deadline = Date.now() + Number(values.timeout) * 1000;
  let done = false;
  while (Date.now() < deadline) {
    const job = github.jobs.get(jobId);
    if (
      job?.status === 'completed' &&
      service.controller.snapshot().runners.length === 0 &&
      github.runners.size === 0
    ) {
      done = true;
      break;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  await service.stop();
  await github.stop();
  rmSync(stateDir, { recursive: true, force: true });
  if (!done) {
    io.stderr(
      `factory demo: job ${jobId} did not finish within ${values.timeout}s; the log above says where it stopped`,
    );
    return 1;
  }
  io.stdout(
    `\nDone: job ${jobId} of ${DEMO_REPO} ran in its own container, which is gone again, and its runner is deregistered.`,
  );
  io.stdout(
    'On a real host the same controller serves your repos through a GitHub App: docs/real-host.md. `factory demo --log-level info` shows the log behind each step.',
  );
  return 0;
}
