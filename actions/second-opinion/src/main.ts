// Wiring only: inputs and event in, the second-opinion flow in the middle with the lane core as its reviewer.
import * as core from '@actions/core';
import * as github from '@actions/github';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { openAgentFolder } from '../../lane-core/agent-folder.js';
import { separateAgent } from '../../lane-core/agent-user.js';
import { laneSecrets } from '../../lane-core/lane-secrets.js';
import { parseReleaseTimeout, releasedEnvironment } from '../../lane-core/lane-release.js';
import { readLaneEnvironment } from '../../lane-core/lane-environment.js';
import type { PullRequestContext } from '../../lane-core/lane-prompt.js';
import { runLane } from '../../lane-core/lane-run.js';
import { egressLine } from '../../lane-core/egress-blocked.js';
import type { Agent, LaneSettings } from '../../lane-core/lane-settings.js';
import { nodeProcessRunner } from '../../lane-core/process-runner.js';
import { summaryMarkdown } from '../../lane-core/summary-markdown.js';
import { parseOpinionInputs, type OpinionInputs } from './opinion-settings.js';
import { extractHead, removeHead } from './head-checkout.js';
import { octokitReviewGitHub, type ReviewGitHub } from './review-github.js';
import { checkoutNote, REVIEW_SCHEMA } from './review-prompt.js';
import { secondOpinion } from './second-opinion.js';
import { readTrigger } from './trigger.js';

export const INPUTS = [
  'github-token',
  'default-agent',
  'allowed-bots',
  'pr-number',
  'expected-sha',
  'timeout-minutes',
  'max-diff-kb',
  'release-timeout-seconds',
  'automatic',
];

export async function run(): Promise<void> {
  try {
    const raw = Object.fromEntries(INPUTS.map((name) => [name, core.getInput(name)]));
    if (raw['github-token']) core.setSecret(raw['github-token']);
    const inputs = parseOpinionInputs(raw);
    const releaseTimeout = parseReleaseTimeout(raw['release-timeout-seconds']);
    const found = readTrigger(
      github.context.eventName,
      github.context.payload,
      inputs.prNumber,
      inputs.expectedSha,
      inputs.automatic,
    );
    if ('ignored' in found) {
      core.info(`nothing to do: ${found.ignored}`);
      core.setOutput('status', 'ignored');
      return;
    }
    const where = {
      ...github.context.repo,
      runUrl: `${github.context.serverUrl}/${github.context.repo.owner}/${github.context.repo.repo}/actions/runs/${github.context.runId}`,
    };
    const gh = octokitReviewGitHub(github.getOctokit(inputs.githubToken), where);
    const outcome = await secondOpinion(
      found.trigger,
      { defaultAgent: inputs.defaultAgent, allowedBots: inputs.allowedBots, maxDiffBytes: inputs.maxDiffBytes },
      {
        gh,
        review: (agent, text, pr) => review(inputs, releaseTimeout, gh, agent, text, pr),
        log: core.info,
        warn: core.warning,
      },
      where,
    );
    core.setOutput('status', outcome.status);
    if (outcome.status !== 'reviewed') return;
    core.setOutput('agent', outcome.agent);
    core.setOutput('sha', outcome.sha);
    core.setOutput('conclusion', outcome.result.conclusion);
    core.setOutput('result', outcome.result.answer);
    core.setOutput('review-url', outcome.reviewUrl ?? '');
    core.setOutput('check-run-url', outcome.checkRunUrl ?? '');
    // Like the posts, a summary the runner cannot take is a warning: the verdict is already out.
    await core.summary
      .addRaw(summaryMarkdown(`second-opinion: ${outcome.agent} on ${outcome.sha.slice(0, 7)}`, outcome.result))
      .write()
      .catch((err: Error) => core.warning(`could not write the job summary: ${err.message}`));
    if (outcome.result.failure) core.setFailed(outcome.result.failure.message);
  } catch (err) {
    core.setFailed((err as Error).message);
  }
}

/** A review-mode lane run, in a read-only checkout of the bound head, whose answer must match the review schema. */
async function review(
  inputs: OpinionInputs,
  releaseTimeout: number,
  gh: ReviewGitHub,
  agent: Agent,
  text: string,
  pullRequest: PullRequestContext,
) {
  const separation = separateAgent(process.env, process.argv[1]);
  // The checkout is the agent's to read: not under RUNNER_TEMP, which the separation closes to the agent's user. The
  // run folder inside stays the runner's alone (0700).
  const root = await openAgentFolder(
    `second-opinion-${agent}-`,
    'user' in separation ? separation.user : undefined,
    'read',
  );
  const runDir = join(root, 'run');
  await mkdir(runDir, { mode: 0o700 });
  const schemaPath = join(runDir, 'review-schema.json');
  await writeFile(schemaPath, JSON.stringify(REVIEW_SCHEMA, null, 2));
  const workingDirectory = join(root, 'workspace');
  await mkdir(workingDirectory);
  const checkout = await extractHead(await gh.tarball(pullRequest.headSha), workingDirectory);
  core.info(
    `checked out ${pullRequest.headSha} read-only: ${checkout.files} files, ${checkout.withheld.length} left out`,
  );
  const instructions = text + checkoutNote(checkout.withheld);
  const settings: LaneSettings = {
    agent,
    prompt: { text: instructions },
    mode: 'review',
    budget: inputs.timeoutMinutes === undefined ? {} : { wallClockMinutes: inputs.timeoutMinutes },
    allowedTools: [],
    workingDirectory,
    extraArgs: [],
    githubToken: inputs.githubToken,
    agentGithubToken: false,
    report: [],
    outputSchema: schemaPath,
  };
  try {
    const env = await releasedEnvironment(process.env, releaseTimeout, core);
    const lane = readLaneEnvironment(env, homedir());
    const result = await runLane(
      {
        settings,
        lane,
        instructions,
        pullRequest,
        runDir,
        baseEnv: env,
        secrets: await laneSecrets(env),
        separation,
      },
      { runner: nodeProcessRunner, log: core.info, warn: core.warning, mask: core.setSecret, now: Date.now },
    );
    const egress = await egressLine(lane.egressReport);
    return egress ? { ...result, egress } : result;
  } finally {
    await removeHead(workingDirectory);
    await rm(root, { recursive: true, force: true });
  }
}
