// 5. agent-lane start: `node dist/agent-lane/index.js` as the runner starts it, in two halves of one run.
//    - Stand-in CLIs (test/support/standin-cli.ts) first on PATH, answering every call as the real ones do, time
//      action start → CLI spawned from the moment the stand-in itself logs.
//    - The real claude and codex CLIs (node_modules/.bin) against the loopback fake model and fake GitHub time
//      action start → CLI spawned (the command line the action logs just before it spawns) → first model request
//      (as the fake model saw it) → report posted (the sticky comment's time on the fake GitHub) → action exited.
//    `node -e ""` runs before every action run, so the floor any Node action pays is measured under the same load.
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { installedVersion } from '../actions/lane-core/cli-version.js';
import { webhookExample } from '../test/support/action-run.js';
import { startFakeGitHub, type FakeGitHub } from '../test/support/fake-github.js';
import { startFakeModelServer, type FakeModelServer } from '../test/support/fake-model-server.js';
import { freshLaneJob, laneJobEnv } from '../test/support/lane-job.js';
import { standinCalls, writeStandinCli } from '../test/support/standin-cli.js';
import { median } from './stats.js';

export const AGENTS = ['claude', 'codex'] as const;
export type BenchAgent = (typeof AGENTS)[number];

export const STAGES = ['spawned', 'firstRequest', 'reported', 'exited'] as const;
export type Stage = (typeof STAGES)[number];
export type Stages = Record<Stage, number>;

export interface AgentLaneResult {
  bundle: string;
  present: boolean;
  /** Stand-in CLIs: action start → CLI spawned, ms, per run. */
  standin: Record<string, number[]>;
  standinMedianMs: Record<string, number>;
  /** Real CLIs: each stage in ms after the action started, per run. */
  real: Record<string, Stages[]>;
  realMedianMs: Record<string, Stages>;
  /** `node -e ""` start to exit, once before every action run: the floor any Node action pays. */
  nodeFloorMs: number;
  floors: number[];
  /** Each action's entry file (all a run parses before its agent starts) and its chunks, loaded when needed. */
  bundles: Array<{ file: string; bytes: number; gzipBytes: number; allBytes: number }>;
  failures: string[];
}

const RUNS = 5;
const ACTOR = 'Codertocat';
const TOKEN = 'ghs_benchtoken0123456789abcdefABCDEF0123';
/** A run that takes longer is broken, not slow: it is killed and reported. */
const RUN_LIMIT_MS = 120_000;

interface TimedRun {
  startedMs: number;
  /** When the first stdout line matching `marker` arrived. */
  markerMs?: number;
  exitedMs: number;
  code: number | null;
  output: string;
}

function spawnTimed(args: string[], env: NodeJS.ProcessEnv, cwd: string, marker?: RegExp): Promise<TimedRun> {
  return new Promise((done) => {
    const startedMs = Date.now();
    const child = spawn(process.execPath, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let markerMs: number | undefined;
    const limit = setTimeout(() => {
      output += `\n(bench: killed after ${RUN_LIMIT_MS / 1000} s)`;
      child.kill('SIGKILL');
    }, RUN_LIMIT_MS);
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString();
      if (markerMs === undefined && marker?.test(output)) markerMs = Date.now();
    });
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('close', (code) => {
      clearTimeout(limit);
      done({ startedMs, markerMs, exitedMs: Date.now(), code, output });
    });
  });
}

const errorsOf = (output: string) =>
  output
    .split('\n')
    .filter((l) => l.startsWith('::error') || l.startsWith('(bench'))
    .join(' ')
    .slice(0, 300);

function bundleSizes(root: string): AgentLaneResult['bundles'] {
  const distDir = resolve(root, 'dist');
  if (!existsSync(distDir)) return [];
  return readdirSync(distDir).flatMap((d) => {
    const file = join(distDir, d, 'index.js');
    if (!existsSync(file)) return [];
    const allBytes = readdirSync(join(distDir, d))
      .filter((f) => f.endsWith('.js'))
      .reduce((sum, f) => sum + statSync(join(distDir, d, f)).size, 0);
    const bytes = statSync(file).size;
    return [{ file: `dist/${d}/index.js`, bytes, gzipBytes: gzipSync(readFileSync(file)).length, allBytes }];
  });
}

export async function benchAgentLane(root = process.cwd()): Promise<AgentLaneResult> {
  const bundle = resolve(root, 'dist/agent-lane/index.js');
  const result: AgentLaneResult = {
    bundle: 'dist/agent-lane/index.js',
    present: existsSync(bundle),
    standin: {},
    standinMedianMs: {},
    real: {},
    realMedianMs: {},
    nodeFloorMs: NaN,
    floors: [],
    bundles: bundleSizes(root),
    failures: [],
  };
  // Measured between the action's runs, so load from anything else on the machine touches both alike.
  const floor = async () => {
    const run = await spawnTimed(['-e', ''], process.env, root);
    result.floors.push(run.exitedMs - run.startedMs);
  };
  if (!result.present) {
    for (let i = 0; i < RUNS; i++) await floor();
  } else {
    await benchStandins(bundle, root, result, floor);
    await benchRealClis(bundle, root, result, floor);
  }
  result.nodeFloorMs = median(result.floors);
  return result;
}

async function benchStandins(bundle: string, root: string, result: AgentLaneResult, floor: () => Promise<void>) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-agent-lane-'));
  try {
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    const job = freshLaneJob('http://127.0.0.1:9');
    for (const agent of AGENTS) {
      const log = join(dir, `${agent}.calls`);
      const version = installedVersion(agent, resolve(root, 'node_modules/.bin')) ?? '1.0.0';
      writeStandinCli(bin, agent, { log, version });
      result.standin[agent] = [];
      for (let i = 0; i < RUNS + 1; i++) {
        rmSync(log, { force: true });
        const env = {
          ...actionEnv(dir, `${bin}:${process.env.PATH}`),
          ...laneJobEnv(job, agent, { model: 'http://127.0.0.1:9', github: 'http://127.0.0.1:9' }),
          GITHUB_EVENT_NAME: 'workflow_dispatch',
          INPUT_AGENT: agent,
          INPUT_PROMPT: 'Say ok.',
          INPUT_REPORT: 'summary',
          'INPUT_TIMEOUT-MINUTES': '1',
        };
        writeFileSync(env.GITHUB_EVENT_PATH, '{}');
        await floor();
        const run = await spawnTimed([bundle], env, job.workspace);
        const spawned = standinCalls(log).find((c) => c.kind === 'run');
        if (!spawned || run.code !== 0) {
          result.failures.push(
            `${agent} stand-in: exit ${run.code}, CLI spawned: ${!!spawned}: ${errorsOf(run.output)}`,
          );
          break;
        }
        if (i > 0) result.standin[agent]!.push(spawned.atMs - run.startedMs); // the first run warms the page cache
      }
      if (result.standin[agent]!.length) result.standinMedianMs[agent] = median(result.standin[agent]!);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchRealClis(bundle: string, root: string, result: AgentLaneResult, floor: () => Promise<void>) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-agent-lane-real-'));
  let model: FakeModelServer | undefined;
  let github: FakeGitHub | undefined;
  try {
    model = await startFakeModelServer();
    github = await startFakeGitHub();
    github.permissions.set(ACTOR, 'write');
    const pr = webhookExample('pull_request', 'opened');
    for (const agent of AGENTS) {
      result.real[agent] = [];
      const api = agent === 'claude' ? 'anthropic' : 'openai';
      const commentKey = `<!-- factory:agent-lane:${agent} -->`;
      for (let i = 0; i < RUNS + 1; i++) {
        // A fresh lane each run: codex refreshes its login on the first, and later runs must not skip that.
        const job = freshLaneJob(model.url);
        const env = {
          ...actionEnv(dir, `${resolve(root, 'node_modules/.bin')}:${process.env.PATH}`),
          ...laneJobEnv(job, agent, { model: model.url, github: github.url }),
          GITHUB_EVENT_NAME: 'pull_request',
          GITHUB_ACTOR: ACTOR,
          GITHUB_REPOSITORY: 'Codertocat/Hello-World',
          INPUT_AGENT: agent,
          INPUT_PROMPT: 'Say ok.',
          INPUT_REPORT: 'comment',
          'INPUT_GITHUB-TOKEN': TOKEN,
          'INPUT_TIMEOUT-MINUTES': '1',
        };
        writeFileSync(env.GITHUB_EVENT_PATH, JSON.stringify(pr));
        model.script(api, [{ kind: 'text', text: 'ok' }]);
        await floor();
        const run = await spawnTimed([bundle], env, job.workspace, new RegExp(`^${agent} (--print|exec) `, 'm'));
        rmSync(job.root, { recursive: true, force: true });
        const request = model.requests.find((r) => r.api === api && r.at >= run.startedMs);
        const posted = github.comments
          .filter((c) => c.body.startsWith(commentKey))
          .map((c) => Date.parse(c.updated_at))
          .find((at) => at >= run.startedMs - 1); // the fake stamps whole milliseconds
        if (run.code !== 0 || run.markerMs === undefined || !request || posted === undefined) {
          const seen = `spawned: ${run.markerMs !== undefined}, model request: ${!!request}, comment: ${posted !== undefined}`;
          result.failures.push(`${agent} real CLI: exit ${run.code}, ${seen}: ${errorsOf(run.output)}`);
          break;
        }
        if (i > 0)
          result.real[agent]!.push({
            spawned: run.markerMs - run.startedMs,
            firstRequest: request.at - run.startedMs,
            reported: posted - run.startedMs,
            exited: run.exitedMs - run.startedMs,
          });
      }
      const runs = result.real[agent]!;
      if (runs.length)
        result.realMedianMs[agent] = Object.fromEntries(
          STAGES.map((s) => [s, median(runs.map((r) => r[s]))]),
        ) as Stages;
    }
  } finally {
    await model?.close();
    await github?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What the runner gives every action step; the event and inputs come on top. */
function actionEnv(dir: string, path: string) {
  const output = join(dir, 'output');
  const summary = join(dir, 'summary');
  writeFileSync(output, '');
  writeFileSync(summary, '');
  return {
    PATH: path,
    GITHUB_ACTIONS: 'true',
    GITHUB_EVENT_PATH: join(dir, 'event.json'),
    GITHUB_REPOSITORY: 'o/r',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_RUN_ID: '4242',
    GITHUB_OUTPUT: output,
    GITHUB_STEP_SUMMARY: summary,
    RUNNER_TEMP: dir,
  };
}
