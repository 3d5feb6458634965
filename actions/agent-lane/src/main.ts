// Wiring only: inputs and event in, the lane core in the middle, outputs and reports out.
import * as core from '@actions/core';
import * as github from '@actions/github';
import { mkdtemp, readFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readLaneEnvironment } from '../../lane-core/lane-environment.js';
import { octokitLaneGitHub } from '../../lane-core/lane-github.js';
import { deliverReports } from '../../lane-core/lane-report.js';
import { runLane, type LaneResult } from '../../lane-core/lane-run.js';
import { parseLaneSettings, type RawInputs } from '../../lane-core/lane-settings.js';
import { nodeProcessRunner } from '../../lane-core/process-runner.js';
import { pullRequestOf, reportContextOf } from './action-context.js';

const INPUTS = [
  'agent', 'prompt', 'prompt-file', 'mode', 'model', 'effort', 'timeout-minutes', 'mcp-config', 'allowed-tools',
  'working-directory', 'extra-args', 'github-token', 'agent-github-token', 'report', 'output-schema',
];

export async function run(): Promise<void> {
  try {
    const raw: RawInputs = Object.fromEntries(INPUTS.map((name) => [name, core.getInput(name)]));
    if (raw['github-token']) core.setSecret(raw['github-token']);
    const pr = pullRequestOf(github.context);
    const settings = parseLaneSettings(raw, { workspace: process.env.GITHUB_WORKSPACE || process.cwd(), isPullRequest: pr !== undefined });
    const instructions = 'text' in settings.prompt
      ? settings.prompt.text
      : await readFile(resolve(settings.workingDirectory, settings.prompt.file), 'utf8').catch((err: Error) => {
          throw new Error(`input "prompt-file": ${err.message}`);
        });
    const runDir = await mkdtemp(join(process.env.RUNNER_TEMP || tmpdir(), `agent-lane-${settings.agent}-`));
    const result = await runLane(
      { settings, lane: readLaneEnvironment(process.env, homedir()), instructions, pullRequest: pr, runDir, baseEnv: process.env },
      { runner: nodeProcessRunner, log: core.info, warn: core.warning, mask: core.setSecret, now: Date.now },
    );
    const where = reportContextOf(github.context, pr);
    const delivered = await deliverReports(
      result,
      settings.report,
      where,
      { title: `agent-lane: ${settings.agent}`, commentKey: `agent-lane:${settings.agent}`, checkName: `agent-lane / ${settings.agent}` },
      {
        writeSummary: async (markdown) => void (await core.summary.addRaw(markdown).write()),
        warn: core.warning,
        github: settings.githubToken ? octokitLaneGitHub(github.getOctokit(settings.githubToken), where) : undefined,
      },
    );
    setOutputs(result, delivered);
    if (result.failure) core.setFailed(result.failure.message);
  } catch (err) {
    core.setFailed((err as Error).message);
  }
}

function setOutputs(r: LaneResult, delivered: { commentUrl?: string; checkRunUrl?: string }): void {
  core.setOutput('result', r.answer);
  core.setOutput('conclusion', r.conclusion);
  core.setOutput('usage', JSON.stringify({
    input_tokens: r.usage.inputTokens,
    output_tokens: r.usage.outputTokens,
    cached_input_tokens: r.usage.cachedInputTokens,
    cost_usd: r.usage.costUsd ?? null,
    duration_ms: r.usage.durationMs,
  }));
  core.setOutput('transcript-path', r.transcriptPath);
  core.setOutput('session-id', r.sessionId ?? '');
  core.setOutput('comment-url', delivered.commentUrl ?? '');
  core.setOutput('check-run-url', delivered.checkRunUrl ?? '');
}
