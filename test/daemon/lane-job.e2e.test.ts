// A lane job end to end on the real engine: the controller, answering the GitHub stand-in, starts a lane container
// from the real factory/base; the runner stand-in inside takes the job and runs the bundled agent-lane action as the
// runner runs a node action; the real claude or codex CLI answers through the loopback fake model; the action posts
// its reports; the refreshed login reaches the host file; and nothing of the job is left afterwards.
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitHubStandin, type JobMessage } from '../../controller/github/standin/github-standin.js';
import { webhookExample } from '../support/action-run.js';
import { startFakeGitHub, type FakeGitHub } from '../support/fake-github.js';
import { startFakeModelServer, type FakeModelServer } from '../support/fake-model-server.js';
import { startHarness, waitFor, type Harness } from '../support/harness.js';
import { claudeLogin, offlineCliEnv, writeLaneHomes, type LaneHomes } from '../support/lane-homes.js';
import { ensureLocalBase } from '../support/local-base.js';
import { makePkmStore } from '../support/pkm-store.js';

const root = join(import.meta.dirname, '../..');
const GITHUB_TOKEN = 'ghs_lanee2etoken0123456789abcdefABCDEF01';
const PR = webhookExample('pull_request', 'opened');
const HEAD_SHA = (PR.pull_request as { head: { sha: string } }).head.sha;

let image: string;
let model: FakeModelServer;
let reports: FakeGitHub;
let paperclip: { url: string; paths: string[]; close(): Promise<void> };
let dir: string;
let homes: LaneHomes;
let store: string;

/** Paperclip's stand-in on a loopback port: it records what the lanes ask it. */
async function startPaperclip(): Promise<typeof paperclip> {
  const paths: string[] = [];
  const server = http.createServer((req, res) => {
    paths.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    paths,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

beforeAll(async () => {
  image = await ensureLocalBase();
  model = await startFakeModelServer();
  reports = await startFakeGitHub();
  // The action checks that the actor who triggered the event may write to the repo.
  reports.permissions.set('Codertocat', 'write');
  paperclip = await startPaperclip();
  dir = mkdtempSync(join(tmpdir(), 'factory-lane-e2e-'));
  homes = writeLaneHomes(join(dir, 'host'), model.url);
  const pkm = mkdtempSync(join(dir, 'pkm-'));
  // The mount's root keeps its host mode: mkdtemp's 0700 would shut the lane user out of the store.
  chmodSync(pkm, 0o755);
  store = await makePkmStore(pkm, [['Paperclip', 'the org API listens on 127.0.0.1:3100']]);
}, 30 * 60_000);

afterAll(async () => {
  await model?.close();
  await reports?.close();
  await paperclip?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function message(agent: 'codex' | 'claude', inputs: Record<string, string>): JobMessage {
  return {
    action: 'agent-lane',
    inputs: { agent, 'github-token': GITHUB_TOKEN, 'timeout-minutes': '3', ...inputs },
    event: { name: 'pull_request', payload: PR },
    context: {
      GITHUB_REPOSITORY: 'Codertocat/Hello-World',
      GITHUB_API_URL: reports.url,
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_RUN_ID: '4242',
      GITHUB_SHA: HEAD_SHA,
      GITHUB_ACTOR: 'Codertocat',
    },
  };
}

/** One lane job through the controller; returns the harness (stopped), the job and its wall time queued→completed. */
async function runLaneJob(agent: 'codex' | 'claude', profile: Record<string, unknown>, msg: JobMessage) {
  const standin = new GitHubStandin({ actionsDir: join(root, 'dist') });
  await standin.start();
  const labels = ['self-hosted', 'factory', agent];
  let harness: Harness | undefined;
  try {
    harness = await startHarness({
      standin,
      config: { laneEnv: { PAPERCLIP_API_URL: paperclip.url } },
      profile: {
        labels,
        image,
        lane: agent,
        trusted: true,
        agentUser: '1001:1001',
        network: 'host',
        cpus: 2,
        memory: '4g',
        pids: 4096,
        env: offlineCliEnv(model.url),
        ...profile,
      },
    });
    const queued = Date.now();
    const jobId = await standin.queueJob(harness.repo, labels, { message: msg });
    await waitFor('the lane job to complete', () => standin.jobs.get(jobId)?.status === 'completed', 240_000);
    const wallMs = Date.now() - queued;
    await waitFor('the lane container to be removed', async () => (await harness!.containers()).length === 0, 60_000);
    const jobsDir = join(harness.config.stateDir, 'jobs');
    await waitFor(
      'the job folder to be removed',
      () => !existsSync(jobsDir) || readdirSync(jobsDir).length === 0,
      30_000,
    );
    const job = standin.jobs.get(jobId)!;
    console.log(`lane job ${agent}: queued -> completed in ${wallMs} ms`);
    return { job, wallMs, runnersLeft: standin.runners.size };
  } finally {
    await harness?.stop();
    await standin.stop();
  }
}

describe('a lane job on the real engine, from the real factory/base', () => {
  it('claude (Tier 3) calls a stdio MCP tool, reaches Paperclip, posts its reports, and its refreshed login reaches the host', async () => {
    const refreshed = claudeLogin('sk-ant-oat01-lanee2e5c1d', 'sk-ant-ort01-lanee2e9a7b');
    // The same login refreshed: write-back refuses a credential whose scopes or subscription differ from the host's.
    model.script('anthropic', [
      { kind: 'tool', name: 'mcp__pkm-agent__search_notes', input: { query: 'Paperclip' } },
      {
        kind: 'tool',
        name: 'Bash',
        input: {
          command: `curl -fsS "$PAPERCLIP_API_URL/api/issues/42" >/dev/null && printf '%s' '${JSON.stringify(refreshed)}' > "$CLAUDE_CONFIG_DIR/.credentials.json"`,
          description: 'status and rotate',
        },
      },
      { kind: 'text', text: 'Lane done: the PKM store says Paperclip is on the loopback.' },
    ]);
    const fixtures = join(dir, 'pkm-agent');
    rmSync(fixtures, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) =>
      fs.cp(join(root, 'test/fixtures/pkm-agent'), fixtures, { recursive: true }),
    );

    const { job, runnersLeft } = await runLaneJob(
      'claude',
      {
        mounts: [
          { kind: 'auth', agent: 'claude', source: homes.claudeConfigDir, claudeJson: homes.claudeJson },
          { kind: 'data', source: join(store, '..'), target: '/data/pkm' },
          { kind: 'data', source: fixtures, target: '/data/pkm-agent' },
        ],
        mcp: [
          {
            name: 'pkm-agent',
            command: 'uv',
            args: ['--directory', '/data/pkm-agent', 'run', 'server.py'],
            env: { PKM_STORE: '/data/pkm/pkm.sqlite' },
          },
        ],
      },
      message('claude', {
        mode: 'build',
        prompt: 'What does the PKM store say about Paperclip?',
        'allowed-tools': 'Bash,mcp__pkm-agent__search_notes',
      }),
    );

    expect(job.result?.exitCode).toBe(0);
    expect(job.result?.outputs.result).toBe('Lane done: the PKM store says Paperclip is on the loopback.');
    // The MCP tool ran in the lane and its answer went back to the model.
    const toolResults = JSON.stringify(model.requests.filter((r) => r.api === 'anthropic').map((r) => r.body));
    expect(toolResults).toContain('Paperclip: the org API listens on 127.0.0.1:3100');
    expect(paperclip.paths).toContain('/api/issues/42');
    expect(reports.comments.filter((c) => c.body.startsWith('<!-- factory:agent-lane:claude -->'))).toHaveLength(1);
    expect(reports.checkRuns.at(-1)).toMatchObject({
      name: 'agent-lane / claude',
      head_sha: HEAD_SHA,
      status: 'completed',
      conclusion: 'success',
    });
    expect(reports.violations).toEqual([]);
    expect(JSON.parse(readFileSync(join(homes.claudeConfigDir, '.credentials.json'), 'utf8'))).toEqual(refreshed);
    expect(runnersLeft).toBe(0);
  }, 600_000);

  it('codex (Tier 2) refreshes its login through the fake token endpoint, posts its check run, and the host keeps the new tokens', async () => {
    // A shell command: codex's own sandbox (bubblewrap) cannot create namespaces in a lane container, so the lane
    // contract runs it without one (docs/lane-isolation.md); the command runs as the agent user.
    model.script('openai', [
      { kind: 'tool', name: 'exec_command', input: { cmd: 'echo "lane-shell-$((6*7)) as uid $(id -u)"' } },
      { kind: 'text', text: 'Codex lane: built.' },
    ]);
    const asked = model.requests.length;
    model.refreshedTokens = {
      ...model.refreshedTokens,
      access_token: 'codex-lane-e2e-access-3f1a',
      refresh_token: 'codex-lane-e2e-refresh-8b2c',
    };

    const { job, runnersLeft } = await runLaneJob(
      'codex',
      { mounts: [{ kind: 'auth', agent: 'codex', source: homes.codexHome }] },
      message('codex', { mode: 'build', prompt: 'Build it.', report: 'summary,check' }),
    );

    expect(job.result?.exitCode).toBe(0);
    expect(job.result?.outputs.result).toBe('Codex lane: built.');
    // What codex sent back to the model as the command's result.
    const toolOutput = model.requests
      .slice(asked)
      .flatMap((r) => (r.api === 'openai' ? ((r.body as { input?: unknown[] }).input ?? []) : []))
      .flatMap((item) => {
        const i = item as { type?: string; output?: unknown };
        return i.type === 'function_call_output' ? [JSON.stringify(i.output)] : [];
      })
      .join('\n');
    expect(toolOutput).toContain('lane-shell-42 as uid 1001');
    expect(reports.checkRuns.at(-1)).toMatchObject({
      name: 'agent-lane / codex',
      head_sha: HEAD_SHA,
      conclusion: 'success',
    });
    const auth = JSON.parse(readFileSync(join(homes.codexHome, 'auth.json'), 'utf8'));
    expect(auth.tokens).toMatchObject({
      access_token: 'codex-lane-e2e-access-3f1a',
      refresh_token: 'codex-lane-e2e-refresh-8b2c',
    });
    expect(runnersLeft).toBe(0);
  }, 600_000);
});
