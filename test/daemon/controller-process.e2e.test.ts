// `factory controller` as a real process: SIGTERM stops taking work but leaves the job's container running, and the
// next start adopts it, sees the job through, and cleans up.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { GitHubStandin } from '../../controller/github/standin/github-standin.js';
import { STANDIN_IMAGE } from '../../controller/commands/demo.js';
import { LABEL } from '../../controller/model/runner.js';
import { CI_LABELS, docker, uniqueRepo, waitFor } from '../support/harness.js';
import { spawnFactory } from '../support/factory-source.js';

const repo = uniqueRepo('process');
const instance = `process-${process.pid}`;
let dir: string;
let github: GitHubStandin;
let configFile: string;
const secret = 'process-test-webhook-secret';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'factory-process-'));
  github = new GitHubStandin({ jobSeconds: 4 });
  await github.start();
  configFile = join(dir, 'factory.yml');
  writeFileSync(
    configFile,
    stringify({
      github: {
        apiUrl: github.url,
        auth: { tokenEnv: 'PROCESS_GH_TOKEN' },
        webhook: { host: '127.0.0.1', port: 0, secret: { env: 'PROCESS_WEBHOOK_SECRET' } },
      },
      instance,
      stateDir: join(dir, 'state'),
      status: { port: 0 },
      reconcileInterval: '1h',
      profiles: { ci: { labels: CI_LABELS, image: STANDIN_IMAGE, network: 'host', trusted: true, memory: '64m' } },
      repos: [{ repo, profiles: ['ci'] }],
    }),
  );
});

afterAll(async () => {
  await github.stop();
  for (const c of await containers()) await docker.getContainer(c.Id).remove({ force: true });
  rmSync(dir, { recursive: true, force: true });
});

const containers = () =>
  docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${LABEL.instance}=${instance}`] }) });

/** Starts the CLI from source and resolves once it logs its webhook URL. */
async function startController(): Promise<{
  child: ChildProcess;
  url: string;
  exited: Promise<number | null>;
  log: () => string;
}> {
  const child = spawnFactory(['controller', '--config', configFile], {
    env: {
      ...process.env,
      PROCESS_GH_TOKEN: 'ghs_processtoken',
      PROCESS_WEBHOOK_SECRET: secret,
      FACTORY_LOG_LEVEL: 'info',
    },
    stderr: 'inherit',
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let buffered = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const m = /"url":"(http:\/\/127\.0\.0\.1:\d+)","path":"\/webhook"/.exec(buffered);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`controller exited early (${code})`)));
  });
  github.setWebhook({ url: `${url}/webhook`, secret });
  return { child, url, exited, log: () => buffered };
}

it('leaves a running job container on SIGTERM, and the next start adopts it and cleans up after the job', async () => {
  const first = await startController();
  const jobId = await github.queueJob(repo, CI_LABELS);
  await waitFor('the job to start', () => github.jobs.get(jobId)?.status === 'in_progress');

  first.child.kill('SIGTERM');
  expect(await first.exited).toBe(0);
  expect((await containers()).map((c) => c.State)).toEqual(['running']);

  const second = await startController();
  await waitFor(
    'the adopted job to finish and its container to go',
    async () =>
      github.jobs.get(jobId)?.status === 'completed' && (await containers()).length === 0 && github.runners.size === 0,
  );
  second.child.kill('SIGTERM');
  expect(await second.exited).toBe(0);
  expect(github.exchanges.filter((x) => x.path.endsWith('/generate-jitconfig'))).toHaveLength(1);
}, 60_000);

it('applies an edited config file without a restart, and keeps the running config when the edit is invalid', async () => {
  const controller = await startController();
  const added = uniqueRepo('process-added');
  const original = readFileSync(configFile, 'utf8');
  await waitFor('the config watch', () => controller.log().includes('watching the config file'));
  try {
    writeFileSync(configFile, original.replace('repos:\n', 'repos: [\n').replace(/\n$/, '')); // a syntax error first
    await waitFor('the refusal', () => controller.log().includes('config change refused'));
    writeFileSync(configFile, original.replace(/repos:\n/, `repos:\n  - repo: ${added}\n    profiles: [ci]\n`));
    await waitFor('the reload', () => controller.log().includes('"msg":"config reloaded"'));

    const jobId = await github.queueJob(added, CI_LABELS);
    await waitFor(
      'the new repo job',
      async () => github.jobs.get(jobId)?.status === 'completed' && (await containers()).length === 0,
    );
  } finally {
    writeFileSync(configFile, original);
    controller.child.kill('SIGTERM');
    expect(await controller.exited).toBe(0);
  }
}, 60_000);
