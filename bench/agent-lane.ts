// 5. agent-lane overhead: `node dist/agent-lane/index.js` spawned until the agent CLI process starts, with a stand-in
//    CLI first on PATH that records the moment it runs (nanoseconds since the epoch) and answers at once. Plus the
//    bundle sizes.
import { spawn } from 'node:child_process';
import {
  chmodSync,
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
import { writeLaneHomes } from '../test/support/lane-homes.js';
import { median } from './stats.js';

export interface AgentLaneResult {
  bundle: string;
  present: boolean;
  runs: Record<string, number[]>;
  medianMs: Record<string, number>;
  /** `node -e ""` start to exit on this machine: the floor any Node action pays. */
  nodeFloorMs: number;
  bundles: Array<{ file: string; bytes: number; gzipBytes: number }>;
  failures: string[];
}

const RUNS = 5;
const ANSWERS: Record<string, string> = {
  claude:
    '{"type":"result","subtype":"success","is_error":false,"result":"ok","session_id":"bench","usage":{"input_tokens":1,"output_tokens":1}}',
  codex:
    '{"type":"thread.started","thread_id":"bench"}\n{"type":"item.completed","item":{"id":"1","type":"agent_message","text":"ok"}}\n{"type":"turn.completed","usage":{"input_tokens":1,"cached_input_tokens":0,"output_tokens":1}}',
};

function fakeCli(bin: string, agent: string, marker: string): void {
  const script = `#!/bin/sh\ndate +%s%N > ${marker}\ncat > /dev/null\nprintf '%s\\n' '${ANSWERS[agent]}'\n`;
  writeFileSync(join(bin, agent), script);
  chmodSync(join(bin, agent), 0o755);
}

function spawnTimed(
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
): Promise<{ startedMs: number; code: number | null; output: string }> {
  return new Promise((done) => {
    const startedMs = Date.now();
    const child = spawn(process.execPath, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('close', (code) => done({ startedMs, code, output }));
  });
}

export async function benchAgentLane(root = process.cwd()): Promise<AgentLaneResult> {
  const bundle = resolve(root, 'dist/agent-lane/index.js');
  const distDir = resolve(root, 'dist');
  const bundles = existsSync(distDir)
    ? readdirSync(distDir).flatMap((d) => {
        const file = join(distDir, d, 'index.js');
        if (!existsSync(file)) return [];
        return [
          { file: `dist/${d}/index.js`, bytes: statSync(file).size, gzipBytes: gzipSync(readFileSync(file)).length },
        ];
      })
    : [];
  const result: AgentLaneResult = {
    bundle: 'dist/agent-lane/index.js',
    present: existsSync(bundle),
    runs: {},
    medianMs: {},
    nodeFloorMs: NaN,
    bundles,
    failures: [],
  };
  const floors: number[] = [];
  // Measured between the action's runs, so load from anything else on the machine touches both alike.
  const floor = async () => {
    const t = Date.now();
    await spawnTimed(['-e', ''], process.env, root);
    floors.push(Date.now() - t);
  };
  if (!result.present) {
    for (let i = 0; i < RUNS; i++) await floor();
    result.nodeFloorMs = median(floors);
    return result;
  }

  const dir = mkdtempSync(join(tmpdir(), 'bench-agent-lane-'));
  try {
    const bin = join(dir, 'bin');
    const workspace = join(dir, 'workspace');
    mkdirSync(bin);
    mkdirSync(workspace);
    const homes = writeLaneHomes(join(dir, 'lane'), 'http://127.0.0.1:9');
    writeFileSync(join(dir, 'event.json'), '{}');
    for (const agent of ['claude', 'codex']) {
      const marker = join(dir, `${agent}.spawned`);
      fakeCli(bin, agent, marker);
      result.runs[agent] = [];
      for (let i = 0; i < RUNS + 1; i++) {
        rmSync(marker, { force: true });
        writeFileSync(join(dir, 'output'), '');
        writeFileSync(join(dir, 'summary'), '');
        const env: NodeJS.ProcessEnv = {
          PATH: `${bin}:${process.env.PATH}`,
          HOME: join(dir, 'home'),
          GITHUB_ACTIONS: 'true',
          GITHUB_EVENT_NAME: 'workflow_dispatch',
          GITHUB_EVENT_PATH: join(dir, 'event.json'),
          GITHUB_REPOSITORY: 'o/r',
          GITHUB_WORKSPACE: workspace,
          GITHUB_OUTPUT: join(dir, 'output'),
          GITHUB_STEP_SUMMARY: join(dir, 'summary'),
          RUNNER_TEMP: dir,
          INPUT_AGENT: agent,
          INPUT_PROMPT: 'Say ok.',
          INPUT_MODE: 'review',
          'INPUT_TIMEOUT-MINUTES': '1',
          INPUT_REPORT: 'summary',
          FACTORY_LANE: agent,
          FACTORY_PROFILE: `${agent}-lane`,
          FACTORY_CODEX_HOME: homes.codexHome,
          FACTORY_CLAUDE_CONFIG_DIR: homes.claudeConfigDir,
          FACTORY_CLAUDE_JSON: homes.claudeJson,
        };
        await floor();
        const run = await spawnTimed([bundle], env, workspace);
        if (!existsSync(marker)) {
          result.failures.push(
            `${agent}: the CLI was never spawned (exit ${run.code}): ${run.output
              .split('\n')
              .filter((l) => l.startsWith('::error'))
              .join(' ')
              .slice(0, 300)}`,
          );
          break;
        }
        const spawnedMs = Number(readFileSync(marker, 'utf8').trim()) / 1e6;
        if (i > 0) result.runs[agent]!.push(spawnedMs - run.startedMs); // the first run warms the page cache
      }
      if (result.runs[agent]!.length) result.medianMs[agent] = median(result.runs[agent]!);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  result.nodeFloorMs = median(floors);
  return result;
}
