// The bundled agent-lane action starts its CLI before anything only the report needs, and no call it makes can be
// held by a CLI that reads stdin: stand-in CLIs first on PATH log each call, and the crueller one reads stdin to its
// end on every call, `--version` included.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runAction } from '../support/action-run.js';
import { freshLaneJob, laneJobEnv } from '../support/lane-job.js';
import { standinCalls, writeStandinCli, type StandinAgent, type StandinOptions } from '../support/standin-cli.js';

async function runWithStandin(agent: StandinAgent, standin: Omit<StandinOptions, 'log'>) {
  const job = freshLaneJob('http://127.0.0.1:9');
  const bin = join(job.root, 'bin');
  mkdirSync(bin);
  const log = join(job.root, 'calls.log');
  writeStandinCli(bin, agent, { log, ...standin });
  const env = laneJobEnv(job, agent, { model: 'http://127.0.0.1:9', github: 'http://127.0.0.1:9' });
  const run = await runAction({
    action: 'agent-lane',
    inputs: { agent, prompt: 'Say ok.', report: 'summary', 'timeout-minutes': '1' },
    event: { name: 'workflow_dispatch', payload: {} },
    env: { ...env, PATH: `${bin}:${process.env.PATH}` },
  });
  return { run, calls: standinCalls(log) };
}

describe('agent-lane start', () => {
  for (const agent of ['claude', 'codex'] as const) {
    it(`${agent}: a CLI that reads stdin on every call is started first and asked its version beside the run`, async () => {
      const { run, calls } = await runWithStandin(agent, {
        version: '7.6.5',
        readsStdinAlways: true,
        versionAwaitsRun: true,
      });

      expect(run.exitCode, run.stdout + run.stderr).toBe(0);
      expect(run.outputs.result).toBe('ok');
      expect(run.outputs['cli-version']).toBe('7.6.5');
      expect(calls.map((c) => c.kind)).toEqual(['run', 'version']);
    });
  }

  it('a --version that never answers costs the run a warning naming the call, not its result', async () => {
    const { run, calls } = await runWithStandin('claude', { version: '7.6.5', versionHangs: true });

    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(run.outputs.result).toBe('ok');
    expect(run.outputs['cli-version']).toBe('');
    expect(run.stdout).toContain('::warning::cli-version: `claude --version` gave no answer within 10 s');
    expect(calls[0]!.kind).toBe('run');
  });
});
