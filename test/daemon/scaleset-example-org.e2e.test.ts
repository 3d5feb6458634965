// The example org (examples/factory.yml: three repos, their CI profiles, the codex, claude and review lanes) run by a
// controller process with `intake: scaleset` and no github.webhook: every job comes from the stand-in's runner scale
// sets, lane jobs get their credentials only after the assignment check, and the process listens on no port but the
// operator's status port on loopback.
import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { STANDIN_IMAGE } from '../../controller/commands/demo.js';
import { GitHubStandin } from '../../controller/github/standin/github-standin.js';
import { LABEL } from '../../controller/model/runner.js';
import type { JobTimeline } from '../../controller/observe/timeline.js';
import type { StatusSnapshot } from '../../controller/status/status-snapshot.js';
import { spawnFactory } from '../support/factory-source.js';
import { docker, waitFor } from '../support/harness.js';
import { writeLaneHomes } from '../support/lane-homes.js';
import { listeningSockets } from '../support/listening-sockets.js';
import { MARKER_PATH, awaitReleaseShell } from '../support/release-shell.js';

type RawProfile = { labels: string[]; trusted?: boolean; mounts?: Array<Record<string, unknown>> } & Record<
  string,
  unknown
>;
type RawConfig = { profiles: Record<string, RawProfile>; repos: Array<{ repo: string; profiles: string[] }> };

const example = parse(readFileSync(join(import.meta.dirname, '../../examples/factory.yml'), 'utf8')) as RawConfig;
const instance = `example-org-${process.pid}`;
let dir: string;
let standin: GitHubStandin;
let child: ChildProcess | undefined;
const logs: string[] = [];

/**
 * A profile of the example as the stand-in runner can run it: its labels, lane and logins kept (the logins from
 * fixture homes), host networking for the loopback stand-in, and what a stand-in cannot give left out (egress
 * gateways, MCP servers, data stores, the Docker sidecar, warm pools). A lane job checks for its release first.
 */
function standinProfile(p: RawProfile, homes: ReturnType<typeof writeLaneHomes>) {
  const logins = (p.mounts ?? [])
    .filter((m) => m.kind === 'auth')
    .map((m) =>
      m.agent === 'codex'
        ? { kind: 'auth', agent: 'codex', source: homes.codexHome }
        : { kind: 'auth', agent: 'claude', source: homes.claudeConfigDir, claudeJson: homes.claudeJson },
    );
  const keep = ['labels', 'lane', 'credential', 'agentUser'].filter((k) => k in p);
  return {
    ...Object.fromEntries(keep.map((k) => [k, p[k]])),
    image: STANDIN_IMAGE,
    network: 'host',
    trusted: true,
    cpus: 0.5,
    memory: '64m',
    pids: 64,
    mounts: logins,
    ...(p.trusted ? { env: { STANDIN_JOB_COMMAND: `${awaitReleaseShell()}test -e ${MARKER_PATH}` } } : {}),
  };
}

/** Each repo's own CI profiles, and one of the lanes per repo in turn: every profile of the example runs once. */
function jobsToRun(): Array<{ repo: string; profile: string; labels: string[]; lane: boolean }> {
  const lanes = Object.keys(example.profiles).filter((n) => example.profiles[n]!.trusted);
  return example.repos.flatMap((r, i) =>
    r.profiles
      .filter((p) => !example.profiles[p]!.trusted || p === lanes[i % lanes.length])
      .map((p) => ({
        repo: r.repo,
        profile: p,
        labels: example.profiles[p]!.labels,
        lane: example.profiles[p]!.trusted === true,
      })),
  );
}

const containers = () =>
  docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${LABEL.instance}=${instance}`] }) });

beforeAll(async () => {
  standin = new GitHubStandin({ jobSeconds: 1, scaleSets: { longPollMs: 500, sessionTtlMs: 5_000 } });
  await standin.start();
  dir = mkdtempSync(join(tmpdir(), 'factory-example-org-'));
  chmodSync(dir, 0o755);
  const homes = writeLaneHomes(join(dir, 'host'), 'http://127.0.0.1:9');
  const { github: _webhookAndApp, loginCheck: _internet, ...rest } = example as RawConfig & Record<string, unknown>;
  const config = {
    ...rest,
    github: { apiUrl: standin.url, auth: { tokenEnv: 'EXAMPLE_GH_TOKEN' } },
    intake: 'scaleset',
    instance,
    stateDir: join(dir, 'state'),
    status: { host: '127.0.0.1', port: 0 },
    reconcileInterval: '2s',
    profiles: Object.fromEntries(Object.entries(example.profiles).map(([name, p]) => [name, standinProfile(p, homes)])),
  };
  writeFileSync(join(dir, 'factory.yml'), stringify(config));
}, 60_000);

afterAll(async () => {
  child?.kill('SIGKILL');
  for (const c of await containers())
    await docker
      .getContainer(c.Id)
      .remove({ force: true })
      .catch(() => {});
  await standin?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Starts `factory controller`; resolves with the status URL once every scale set listens. */
async function startController(): Promise<{ pid: number; statusUrl: string }> {
  const proc = spawnFactory(['controller', '--config', join(dir, 'factory.yml')], {
    env: { ...process.env, EXAMPLE_GH_TOKEN: 'ghs_exampleorgtoken', FACTORY_LOG_LEVEL: 'info' },
    stderr: 'inherit',
  });
  child = proc;
  let out = '';
  let statusUrl = '';
  await new Promise<void>((resolve, reject) => {
    proc.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      logs.push(chunk.toString());
      for (const line of out.split('\n')) {
        if (!line.startsWith('{')) continue;
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg?.startsWith('status endpoint listening')) statusUrl = entry.url ?? '';
      }
      if (statusUrl && out.includes('controller listening to runner scale sets')) resolve();
    });
    proc.on('exit', (code) => reject(new Error(`controller exited early (${code}): ${out.slice(-2000)}`)));
  });
  return { pid: proc.pid!, statusUrl };
}

it('runs every profile of the example org from its scale sets, listening on no port but the status port', async () => {
  const { pid, statusUrl } = await startController();
  const statusPort = Number(new URL(statusUrl).port);
  const status = async () => (await (await fetch(`${statusUrl}/status`)).json()) as StatusSnapshot;
  const planned = example.repos.reduce((n, r) => n + r.profiles.length, 0);
  await waitFor('every scale set in session', async () => {
    const sets = (await status()).scaleSets;
    return sets.length === planned && sets.every((s) => s.session === 'live');
  });

  const jobs = jobsToRun();
  const ids: number[] = [];
  for (const j of jobs) ids.push(await standin.queueJob(j.repo, j.labels, { announce: false }));
  try {
    await waitFor(
      'every job of the example org run, and nothing left',
      async () =>
        ids.every((id) => standin.jobs.get(id)?.status === 'completed') &&
        standin.runners.size === 0 &&
        (await containers()).length === 0,
      150_000,
    );
  } catch (err) {
    const seen = [...standin.jobs.values()].map((j) => [j.id, j.repo, j.status, j.scaleSetId, j.runnerName]);
    console.log(JSON.stringify(seen), logs.join('').split('\n').slice(-60).join('\n'));
    throw err;
  }

  // One runner each, each registered through its profile's scale set, none through the REST JIT route.
  expect(new Set(ids.map((id) => standin.jobs.get(id)!.runnerName)).size).toBe(ids.length);
  expect(ids.map((id) => standin.jobs.get(id)!.result?.exitCode ?? 0)).toEqual(ids.map(() => 0));
  expect(standin.serviceExchanges.filter((x) => x.path.endsWith('/generatejitconfig'))).toHaveLength(ids.length);
  expect(standin.exchanges.filter((x) => x.path.endsWith('/generate-jitconfig'))).toHaveLength(0);
  for (const [i, j] of jobs.entries()) {
    // The controller knows a scale set's job by its runner request id, as the messages name it.
    const requestId = standin.jobs.get(ids[i]!)!.requestId;
    const timeline = (await (await fetch(`${statusUrl}/jobs/${requestId}`)).json()) as JobTimeline;
    expect({ profile: timeline.profile, repo: timeline.repo }).toEqual({ profile: j.profile, repo: j.repo });
    // Host networking makes every profile here trusted, so each job passed the assignment check and was released;
    // a lane's job also waited for the release before it went on (its exit code above).
    expect(timeline.events.some((e) => e.stage === 'released')).toBe(true);
  }
  expect(jobs.filter((j) => j.lane).map((j) => j.profile)).toEqual(['codex', 'claude', 'review']);

  // No port for GitHub: the process listens on the operator's loopback status port alone, which answers /healthz.
  expect(listeningSockets(pid)).toEqual([{ address: '127.0.0.1', port: statusPort }]);
  expect((await (await fetch(`${statusUrl}/healthz`)).json()).status).toMatch(/ok|degraded/);
}, 240_000);
