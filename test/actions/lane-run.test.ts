// One lane run through the lane core with the CLI replaced by a scripted process runner: what is checked before
// the CLI starts, and what happens to credentials the CLI rotates during the run.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readLaneEnvironment } from '../../actions/lane-core/lane-environment.js';
import { runLane, type LaneRunDeps } from '../../actions/lane-core/lane-run.js';
import { parseLaneSettings, type RawInputs } from '../../actions/lane-core/lane-settings.js';
import type { ProcessRunner, ProcessSpec } from '../../actions/lane-core/process-runner.js';
import { writeLaneHomes } from '../support/lane-homes.js';

function job() {
  const root = mkdtempSync(join(tmpdir(), 'lane-run-'));
  const homes = writeLaneHomes(join(root, 'lane'), 'http://127.0.0.1:9');
  const workspace = join(root, 'workspace');
  mkdirSync(workspace);
  const lane = readLaneEnvironment(
    {
      FACTORY_CODEX_HOME: homes.codexHome,
      FACTORY_CLAUDE_CONFIG_DIR: homes.claudeConfigDir,
      FACTORY_CLAUDE_JSON: homes.claudeJson,
    },
    join(root, 'home'),
  );
  return { root, homes, workspace, lane };
}

/** A CLI that runs `script` and exits 0; `started` records each spec it was given. */
function scriptedCli(
  script: (spec: ProcessSpec) => void = () => undefined,
): ProcessRunner & { started: ProcessSpec[] } {
  const started: ProcessSpec[] = [];
  return {
    started,
    run: async (spec) => {
      started.push(spec);
      script(spec);
      return {
        exitCode: 0,
        signal: null,
        timedOut: false,
        cancelled: false,
        stopped: false,
        stderr: '',
        outputHeldOpen: false,
      };
    },
  };
}

function start(
  j: ReturnType<typeof job>,
  inputs: RawInputs,
  runner: ProcessRunner,
  masked: string[] = [],
  baseEnv: Record<string, string> = {},
  log: string[] = [],
) {
  const settings = parseLaneSettings(
    { agent: 'codex', prompt: 'Review.', ...inputs },
    { workspace: j.workspace, isPullRequest: false },
  );
  const deps: LaneRunDeps = {
    runner,
    log: (line) => log.push(line),
    warn: (line) => log.push(`warning: ${line}`),
    mask: (s) => masked.push(s),
    now: Date.now,
  };
  return runLane(
    {
      settings,
      lane: j.lane,
      instructions: 'Review.',
      runDir: join(j.root, 'run'),
      baseEnv,
      secrets: [],
      separation: { problem: 'no agent user in these tests' },
    },
    deps,
  );
}

describe('lane run', () => {
  it('a working-directory that does not exist fails naming the input, and the CLI never starts', async () => {
    const j = job();
    const cli = scriptedCli();

    await expect(start(j, { 'working-directory': 'no-such-dir' }, cli)).rejects.toThrow(
      `input "working-directory": ${join(j.workspace, 'no-such-dir')} is not a directory`,
    );
    expect(cli.started).toEqual([]);
  });

  it('an output-schema-file that is missing or not a JSON schema fails naming the input, and the CLI never starts', async () => {
    const j = job();
    const cli = scriptedCli();
    writeFileSync(join(j.workspace, 'broken.json'), '{"type": ');

    await expect(start(j, { 'output-schema-file': 'missing.json' }, cli)).rejects.toThrow(
      /^input "output-schema-file": ENOENT/,
    );
    await expect(start(j, { 'output-schema-file': 'broken.json' }, cli)).rejects.toThrow(
      `input "output-schema-file": ${join(j.workspace, 'broken.json')} is not JSON`,
    );
    expect(cli.started).toEqual([]);
  });

  it('an inline output-schema that is a path, not JSON, or not a schema fails naming the input, and the CLI never starts', async () => {
    const j = job();
    const cli = scriptedCli();

    await expect(async () => start(j, { 'output-schema': 'schema.json' }, cli)).rejects.toThrow(
      'input "output-schema" is not JSON: it takes the schema itself as inline JSON; for a file use output-schema-file',
    );
    await expect(async () =>
      start(j, { 'output-schema': '{"type": "object"}', 'output-schema-file': 'schema.json' }, cli),
    ).rejects.toThrow('input "output-schema" and output-schema-file both given; give one');
    await expect(start(j, { 'output-schema': '{"type": "no-such-type"}' }, cli)).rejects.toThrow(
      /^input "output-schema": the schema /,
    );
    expect(cli.started).toEqual([]);
  });

  it('a token the CLI rotated during the run is masked and scrubbed from the transcript it already reached', async () => {
    const j = job();
    const rotated = 'rotated-refresh-3e9d1c7a55';
    const cli = scriptedCli((spec) => {
      const auth = JSON.parse(readFileSync(join(spec.env.CODEX_HOME!, 'auth.json'), 'utf8'));
      auth.tokens.refresh_token = rotated;
      writeFileSync(join(spec.env.CODEX_HOME!, 'auth.json'), JSON.stringify(auth));
      // A prompt-injected agent that prints its auth file: the line reaches the transcript before the run ends.
      spec.onLine(
        JSON.stringify({
          type: 'item.completed',
          item: {
            type: 'command_execution',
            command: 'cat $CODEX_HOME/auth.json',
            aggregated_output: JSON.stringify(auth),
            exit_code: 0,
          },
        }),
      );
      spec.onLine(JSON.stringify({ type: 'item.completed', item: { type: 'agent_message', text: 'Done.' } }));
    });
    const masked: string[] = [];
    const log: string[] = [];

    const result = await start(j, {}, cli, masked, {}, log);

    expect(result.answer).toBe('Done.');
    expect(result.writeBack).toEqual([{ source: join(j.homes.codexHome, 'auth.json'), outcome: 'written' }]);
    expect(log).toContain(`credentials ${join(j.homes.codexHome, 'auth.json')}: written`);
    expect(masked).toContain(rotated);
    const transcript = readFileSync(result.transcriptPath, 'utf8');
    expect(transcript).toContain('cat $CODEX_HOME/auth.json');
    expect(transcript).not.toContain(rotated);
  });

  it("the agent starts without the job's tokens, raw inputs or workflow-command files, in its private home", async () => {
    const j = job();
    const cli = scriptedCli();
    const runnerFiles = {
      GITHUB_ENV: '/r/set_env',
      GITHUB_PATH: '/r/add_path',
      GITHUB_OUTPUT: '/r/set_output',
      GITHUB_STATE: '/r/save_state',
      GITHUB_STEP_SUMMARY: '/r/summary',
    };
    const jobEnv = {
      PATH: '/usr/bin',
      GITHUB_WORKSPACE: j.workspace,
      GITHUB_TOKEN: 'ghs_jobtoken0123456789abcdef',
      'INPUT_GITHUB-TOKEN': 'ghs_jobtoken0123456789abcdef',
      ACTIONS_RUNTIME_TOKEN: 'rt',
      ...runnerFiles,
    };

    await start(j, { 'github-token': 'ghs_jobtoken0123456789abcdef' }, cli, [], jobEnv);

    const env = cli.started[0]!.env;
    expect(env).toMatchObject({
      PATH: '/usr/bin',
      GITHUB_WORKSPACE: j.workspace,
      CODEX_HOME: join(j.root, 'run', 'codex-home'),
    });
    for (const name of [
      'GITHUB_TOKEN',
      'GH_TOKEN',
      'INPUT_GITHUB-TOKEN',
      'ACTIONS_RUNTIME_TOKEN',
      ...Object.keys(runnerFiles),
    ])
      expect(env, name).not.toHaveProperty(name);
  });

  it('a secret in a structured answer is scrubbed from the findings that become annotations', async () => {
    const j = job();
    const leaked = j.homes.secrets[0]!;
    writeFileSync(join(j.workspace, 'schema.json'), JSON.stringify({ type: 'object', required: ['findings'] }));
    const answer = {
      conclusion: 'failure',
      findings: [{ path: 'src/a.ts', line: 3, severity: 'error', message: `hardcoded token ${leaked}` }],
    };
    const cli = scriptedCli((spec) =>
      spec.onLine(
        JSON.stringify({ type: 'item.completed', item: { type: 'agent_message', text: JSON.stringify(answer) } }),
      ),
    );

    const result = await start(j, { 'output-schema-file': 'schema.json' }, cli);

    expect(result.conclusion).toBe('failure');
    expect(result.findings).toEqual([
      expect.objectContaining({ path: 'src/a.ts', line: 3, message: 'hardcoded token ***' }),
    ]);
    expect(JSON.stringify([result.answer, result.structured])).not.toContain(leaked);
  });

  it('a CLI that is not installed is named, and the private home with its credentials is gone anyway', async () => {
    const j = job();
    const missing: ProcessRunner = {
      run: async () => Promise.reject(Object.assign(new Error('spawn codex ENOENT'), { code: 'ENOENT' })),
    };

    await expect(start(j, {}, missing)).rejects.toThrow(
      'the codex CLI is not on PATH; lane images install it (factory/base does: docs/images.md)',
    );
    expect(existsSync(join(j.root, 'run', 'codex-home'))).toBe(false);
  });

  it('after a run the private home is deleted and the lane keeps its own copy', async () => {
    const j = job();
    const before = readFileSync(join(j.homes.codexHome, 'auth.json'), 'utf8');

    const result = await start(j, {}, scriptedCli());

    expect(result.writeBack).toEqual([{ source: join(j.homes.codexHome, 'auth.json'), outcome: 'unchanged' }]);
    expect(existsSync(join(j.root, 'run', 'codex-home'))).toBe(false);
    expect(readFileSync(join(j.homes.codexHome, 'auth.json'), 'utf8')).toBe(before);
  });

  it('a rotated credential the lane could not keep is a warning, and the run still has its answer', async () => {
    const j = job();
    const cli = scriptedCli((spec) => {
      writeFileSync(join(spec.env.CODEX_HOME!, 'auth.json'), '{"tokens": {"access_token": "half-wri');
      spec.onLine(JSON.stringify({ type: 'item.completed', item: { type: 'agent_message', text: 'Done.' } }));
    });
    const log: string[] = [];

    const result = await start(j, {}, cli, [], {}, log);

    expect(result.answer).toBe('Done.');
    expect(log).toContain(`warning: credentials ${join(j.homes.codexHome, 'auth.json')}: rejected-shape`);
  });

  it('a transcript that cannot be written is a warning, and the run still has its answer', async () => {
    const j = job();
    mkdirSync(join(j.root, 'run', 'transcript.jsonl'), { recursive: true });
    const cli = scriptedCli((spec) =>
      spec.onLine(JSON.stringify({ type: 'item.completed', item: { type: 'agent_message', text: 'Done.' } })),
    );
    const log: string[] = [];

    const result = await start(j, {}, cli, [], {}, log);

    expect(result.answer).toBe('Done.');
    expect(log).toContainEqual(
      expect.stringMatching(/^warning: the transcript at .*transcript\.jsonl is incomplete: EISDIR/),
    );
  });
});
