// Wiring only: inputs and event in, the lane core in the middle, outputs and reports out. The agent starts before
// anything only the report needs: @actions/core and Octokit are loaded, and the in-progress check run made, once the
// CLI runs, unless the actor check or a prompt file needs GitHub first.
import { mkdtemp } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { separateAgent } from '../../lane-core/agent-user.js';
import { startCheckRun } from '../../lane-core/check-run.js';
import { cliVersionReader } from '../../lane-core/cli-version.js';
import { laneSecrets } from '../../lane-core/lane-secrets.js';
import { parseReleaseTimeout, releasedEnvironment } from '../../lane-core/lane-release.js';
import { readLaneEnvironment } from '../../lane-core/lane-environment.js';
import { octokitLaneGitHub, type LaneGitHub } from '../../lane-core/lane-github.js';
import { deliverReports } from '../../lane-core/lane-report.js';
import { egressLine } from '../../lane-core/egress-blocked.js';
import { runLane, type LaneResult } from '../../lane-core/lane-run.js';
import { parseLaneSettings, type RawInputs } from '../../lane-core/lane-settings.js';
import { breachText, partialMarker } from '../../lane-core/lane-budget.js';
import { usageJson, usageText } from '../../lane-core/usage-report.js';
import { nodeProcessRunner } from '../../lane-core/process-runner.js';
import type { ReportContext } from '../../lane-core/report-context.js';
import { runnerLog } from '../../lane-core/runner-log.js';
import { actorOf, baseShaOf, eventContextOf, pullRequestOf, reportContextOf } from './action-context.js';
import { actorRefusal } from './actor-check.js';
import { INPUTS, parseLaneReportInputs } from './lane-inputs.js';
import { readPromptFile } from '../../lane-core/prompt-file.js';

type Octokit = ReturnType<(typeof import('@actions/github'))['getOctokit']>;
type ActionsCore = typeof import('@actions/core');

const log = runnerLog();
let coreLoad: Promise<ActionsCore> | undefined;
/** Outputs, the summary and the step's failure: needed only once the agent ran (or could not start). */
const actionsCore = () => (coreLoad ??= import('@actions/core'));

export async function run(): Promise<void> {
  // The check run shown while the agent works; whatever ends the run below, it is completed.
  let check: InProgressCheck | undefined;
  try {
    const raw: RawInputs = Object.fromEntries(INPUTS.map((name) => [name, log.getInput(name)]));
    if (raw['github-token']) log.setSecret(raw['github-token']);
    const event = eventContextOf(process.env);
    const pr = pullRequestOf(event);
    const workspace = process.env.GITHUB_WORKSPACE || process.cwd();
    const settings = parseLaneSettings(raw, { workspace, isPullRequest: pr !== undefined });
    const releaseTimeout = parseReleaseTimeout(raw['release-timeout-seconds']);
    const names = parseLaneReportInputs(raw, settings.agent);
    const where = reportContextOf(event, pr);
    const token = settings.githubToken;
    let octokitLoad: Promise<Octokit> | undefined;
    const octokit = token
      ? () => (octokitLoad ??= import('@actions/github').then((github) => github.getOctokit(token)))
      : undefined;
    const gh = octokit && where.owner ? async () => octokitLaneGitHub(await octokit(), where) : undefined;

    const refusal = await actorRefusal(event.eventName, actorOf(event), names.actor, async (username) => {
      if (!octokit || !where.owner)
        throw new Error("no github-token to check the actor's permission with (or set check-actor: false)");
      const { data } = await (
        await octokit()
      ).rest.repos.getCollaboratorPermissionLevel({ owner: where.owner, repo: where.repo, username });
      return data.role_name || data.permission;
    });
    if (refusal) throw new Error(`actor check: ${refusal}`);

    const instructions =
      'text' in settings.prompt
        ? settings.prompt.text
        : await readPromptFile({
            file: settings.prompt.file,
            workingDirectory: settings.workingDirectory,
            workspace,
            baseSha: baseShaOf(event),
            github: await gh?.(),
          });
    const version = cliVersionReader(settings.agent, process.env, log.warning);
    if (version.installed) log.info(`${settings.agent} ${version.installed}`);
    if (gh && settings.report.includes('check') && where.pullNumber !== undefined && where.headSha)
      check = inProgressCheck(gh, where, { name: names.checkName, title: `${settings.agent}: working` });

    const env = await releasedEnvironment(process.env, releaseTimeout, log);
    const runDir = await mkdtemp(join(process.env.RUNNER_TEMP || tmpdir(), `agent-lane-${settings.agent}-`));
    const lane = readLaneEnvironment(env, homedir());
    const ran = await runLane(
      {
        settings,
        lane,
        instructions,
        pullRequest: pr,
        runDir,
        baseEnv: env,
        secrets: await laneSecrets(env),
        separation: separateAgent(process.env, process.argv[1]),
      },
      {
        runner: nodeProcessRunner,
        log: log.info,
        warn: log.warning,
        mask: log.setSecret,
        now: Date.now,
        agentStarted: () => {
          version.agentStarted();
          check?.start();
          actionsCore().catch(() => undefined); // loaded beside the agent; a failure surfaces where it is awaited
        },
      },
    );
    const egress = await egressLine(lane.egressReport);
    const result: LaneResult = egress ? { ...ran, egress } : ran;
    const core = await actionsCore();
    core.setOutput('cli-version', await version.result());
    await check?.started();
    const delivered = await deliverReports(
      result,
      settings.report,
      where,
      { title: `agent-lane: ${settings.agent}`, commentKey: names.commentKey, checkName: names.checkName },
      {
        writeSummary: async (markdown) => void (await core.summary.addRaw(markdown).write()),
        warn: log.warning,
        github: await gh?.(),
      },
    );
    check = undefined;
    setOutputs(core, result, delivered);
    log.info(`usage: ${usageText(result)}`);
    // A stopped run delivered what it found: the step passes, and the warning says which budget ended it.
    if (result.breach) log.warning(`${partialMarker(result.breach)}; raise the budget to let it finish`);
    if (result.failure) core.setFailed(result.failure.message);
  } catch (err) {
    const message = (err as Error).message;
    if (check) {
      // A run that failed before its agent started still shows the check it asked for, completed with the reason.
      check.start();
      await check.fail(message);
    }
    (await actionsCore()).setFailed(message);
  }
}

interface InProgressCheck {
  /** Creates the in-progress check run, once: called when the agent runs, never before. */
  start(): void;
  /** Waits for the creation, whose id and URL are then where the report completes it instead of making another. */
  started(): Promise<void>;
  fail(message: string): Promise<void>;
}

function inProgressCheck(
  gh: () => Promise<LaneGitHub>,
  where: ReportContext,
  o: { name: string; title: string },
): InProgressCheck {
  let creating: Promise<{ gh: LaneGitHub; id: number } | undefined> | undefined;
  return {
    start: () => {
      creating ??= gh()
        .then(async (github) => {
          const made = await startCheckRun(github, {
            name: o.name,
            headSha: where.headSha!,
            title: o.title,
            detailsUrl: where.runUrl,
          });
          Object.assign(where, { checkRunId: made.id, checkRunUrl: made.html_url ?? undefined });
          return { gh: github, id: made.id };
        })
        .catch((err: Error) => void log.warning(`could not start the check run: ${err.message}`));
    },
    started: async () => void (await creating),
    fail: async (message) => {
      const made = await creating;
      if (!made) return;
      await made.gh
        .updateCheckRun(made.id, { title: 'could not run', summary: message }, { conclusion: 'failure' })
        .catch((e: Error) => log.warning(`could not complete the check run: ${e.message}`));
    },
  };
}

function setOutputs(core: ActionsCore, r: LaneResult, delivered: { commentUrl?: string; checkRunUrl?: string }): void {
  core.setOutput('result', r.answer);
  core.setOutput('conclusion', r.conclusion);
  core.setOutput('usage', JSON.stringify(usageJson(r)));
  core.setOutput('stopped-at', r.breach ? breachText(r.breach) : '');
  core.setOutput('transcript-path', r.transcriptPath);
  core.setOutput('session-id', r.sessionId ?? '');
  core.setOutput('comment-url', delivered.commentUrl ?? '');
  core.setOutput('check-run-url', delivered.checkRunUrl ?? '');
}
