// One lane run from start to end: private home, the CLI under a deadline, its events parsed and logged as they
// come, the answer checked, credentials written back. No GitHub here: reporting is the caller's next step.
import { appendFile, chmod, chown, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { foldEvents, type AgentOutcome } from './agent-outcome.js';
import { budgetMeter, meterLimits } from './budget-meter.js';
import { profileBudget, resolveBudget, type Budget, type BudgetBreach } from './lane-budget.js';
import { preflight } from './lane-preflight.js';
import { agentCommand } from './agent-command.js';
import { agentEnvironment } from './agent-environment.js';
import { agentFileReader, endAgentProcesses, runAsAgent, type AgentUser, type Separation } from './agent-user.js';
import { closeAgentTree, handBackTree, openAgentTree, type AgentTree } from './agent-tree.js';
import { openAgentFolder } from './agent-folder.js';
import { checkAnswer, schemaProblem } from './answer-schema.js';
import { parseClaudeLine } from './claude-events.js';
import { classifyFailure, type LaneFailure } from './cli-failure.js';
import { mergeMcpServers } from './codex-config.js';
import { parseCodexLine } from './codex-events.js';
import { keptLogin } from '../../lane-contract/credential-write-back.js';
import { readJobFile } from '../../lane-contract/job-file.js';
import {
  currentCredentials,
  openPrivateHome,
  writeBackCredentials,
  type PrivateHome,
  type WriteBack,
} from './credential-store.js';
import { findingsOf, verdictOf, type Conclusion, type Finding } from './findings.js';
import type { LaneEnvironment } from './lane-environment.js';
import type { LaneEvent, Usage } from './lane-event.js';
import { lanePrompt, type PullRequestContext } from './lane-prompt.js';
import type { LaneSettings } from './lane-settings.js';
import type { ProcessRunner } from './process-runner.js';
import { credentialValues, Scrubber } from './scrubber.js';
import { secretForms } from './secret-forms.js';

export interface LaneRunDeps {
  runner: ProcessRunner;
  /** A progress line for the job log, already scrubbed. */
  log: (line: string) => void;
  /** Something an operator must act on (a rotated credential the lane did not keep). */
  warn: (line: string) => void;
  /** Registers a value the runner must mask everywhere (core.setSecret). */
  mask: (secret: string) => void;
  now: () => number;
  /** Called once the CLI's process runs: work only the report needs starts here, beside the agent, not before it. */
  agentStarted?: () => void;
}

export interface LaneRunRequest {
  settings: LaneSettings;
  lane: LaneEnvironment;
  /** The workflow's instructions; the PR, when there is one, is appended as data (see lanePrompt). */
  instructions: string;
  pullRequest?: PullRequestContext;
  /** A fresh directory for this run: private home, prompt, transcript. */
  runDir: string;
  /** The job's environment, before the lane strips tokens from it. */
  baseEnv: Record<string, string | undefined>;
  /** Secret values the lane carries (lane-secrets.ts), masked before the agent starts. */
  secrets: string[];
  /** The agent's own user, or why the lane has none (see agent-user.ts). */
  separation: Separation;
}

export interface LaneResult {
  agent: LaneSettings['agent'];
  mode: LaneSettings['mode'];
  model?: string;
  conclusion: Conclusion;
  answer: string;
  structured?: unknown;
  findings: Finding[];
  usage: Usage & { durationMs: number; turns: number };
  /** The budget the run had, the lane profile's lowered by the inputs. */
  budget: Budget;
  /** The budget the run was stopped at; its answer is then partial, its conclusion neutral. */
  breach?: BudgetBreach;
  sessionId?: string;
  transcriptPath: string;
  failure?: LaneFailure;
  writeBack: WriteBack[];
  /** The last progress lines, as logged: the readable tail of the transcript. */
  progress: string[];
  /** Behind egress: what the gateway refused (`blocked: host:port ×n`, `nothing blocked`), see egress-blocked.ts. */
  egress?: string;
  /** Scrubs any text bound for a report; it knows the credentials of this run, refreshed ones included. */
  scrub: (text: string) => string;
}

const PROGRESS_KEEP = 40;

export async function runLane(req: LaneRunRequest, deps: LaneRunDeps): Promise<LaneResult> {
  const { settings } = req;
  const budget = resolveBudget(profileBudget(req.baseEnv), settings.budget);
  if (settings.agent === 'codex' && budget.costUsd !== undefined)
    deps.warn('codex reports no cost, so the cost budget cannot stop a codex run; its token budget can');
  // Checked before the CLI starts: a missing directory would surface as spawn's ENOENT (read as "CLI not on
  // PATH"), and a bad schema would fail the step only after the whole run.
  if (
    !(await stat(settings.workingDirectory).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  ) {
    throw new Error(`input "working-directory": ${settings.workingDirectory} is not a directory`);
  }
  const user = 'user' in req.separation ? req.separation.user : undefined;
  if (!user) {
    const problem = 'problem' in req.separation ? req.separation.problem : '';
    // A build agent writes and runs code: as the runner's user it could rewrite the runner's command files.
    if (settings.mode === 'build')
      throw new Error(
        `input "mode": build runs the agent as its own user, apart from the runner and this action, and this lane cannot: ${problem}. See docs/lane-isolation.md`,
      );
    deps.warn(
      `the agent runs as the runner's user (${problem}); it can read this job's tokens from the action's process. See docs/lane-isolation.md`,
    );
  }
  await mkdir(req.runDir, { recursive: true, mode: 0o700 });
  const agentRoot = user ? await openAgentRoot(user) : undefined;
  // The schema file goes where the agent can read it: its own corner when it has one.
  const outputSchema = await readOutputSchema(settings, agentRoot ?? req.runDir);
  const home = await openPrivateHome(settings.agent, req.lane, agentRoot ?? req.runDir, user?.gid);
  let tree: AgentTree | undefined;
  try {
    // A build agent writes its own copy; the checkout gets back its working-tree changes only (agent-tree.ts).
    if (user && settings.mode === 'build') tree = await openAgentTree(settings.workingDirectory, user);
    const corner = user && agentRoot ? { user, root: agentRoot, tree: tree?.dir } : undefined;
    const result = await runInHome(req, { home, outputSchema, budget }, deps, corner);
    if (tree && user) await handBack(tree, settings.workingDirectory, user, deps);
    return result;
  } finally {
    // Whatever the agent left running goes before its files do: nothing of its user outlives the run.
    if (user) await endAgentProcesses(user).catch((err: Error) => deps.warn(`after the run: ${err.message}`));
    if (tree && user) await closeAgentTree(tree, user);
    // The private home holds live credentials; nothing of it outlives the run. What the agent made there is its own.
    if (user && agentRoot)
      runAsAgent(user, 'rm', ['-rf', '--', join(agentRoot, 'home'), join(agentRoot, 'tmp'), home.dir]);
    await rm(home.dir, { recursive: true, force: true });
    if (agentRoot) await rm(agentRoot, { recursive: true, force: true });
  }
}

/** Brings the agent's edits into the checkout and says what came and what stayed behind. */
async function handBack(tree: AgentTree, checkout: string, user: AgentUser, deps: LaneRunDeps): Promise<void> {
  const back = await handBackTree(tree, checkout, user);
  deps.log(`handed back to ${checkout}: ${back.changed} change(s), ${back.bytes} bytes of files`);
  for (const line of back.skipped.slice(0, 20)) deps.warn(`not handed back: ${line}`);
  if (back.skipped.length > 20) deps.warn(`not handed back: ${back.skipped.length - 20} more`);
}

/** The agent's own corner, outside RUNNER_TEMP (closed to it): HOME, TMPDIR and its credential home, shared with the
 * runner's user through the agent's group (setgid, so what either writes stays in that group). */
async function openAgentRoot(user: AgentUser): Promise<string> {
  const root = await openAgentFolder('agent-lane-', user, 'write');
  for (const dir of [join(root, 'home'), join(root, 'tmp')]) {
    await mkdir(dir, { recursive: true });
    await chown(dir, -1, user.gid);
    await chmod(dir, 0o2770);
  }
  return root;
}

interface AgentCorner {
  user: AgentUser;
  root: string;
  /** A build agent's own copy of the checkout, where it works instead of the checkout. */
  tree?: string;
}

interface RunPlan {
  home: PrivateHome;
  outputSchema: OutputSchema | undefined;
  budget: Budget;
}

async function runInHome(
  req: LaneRunRequest,
  { home, outputSchema, budget }: RunPlan,
  deps: LaneRunDeps,
  corner?: AgentCorner,
): Promise<LaneResult> {
  const { settings } = req;
  const scrubber = new Scrubber();
  /** Registers values as secrets; returns how many were new. */
  const trust = (secrets: string[]): number => {
    const known = new Set(scrubber.secrets);
    const fresh = [...new Set(secrets.flatMap(secretForms))].filter((v) => !known.has(v));
    for (const s of fresh) {
      scrubber.add(s);
      deps.mask(s);
    }
    return fresh.length;
  };
  trust(home.files.filter((f) => f.credential).flatMap((f) => credentialValues(f.copied ?? '')));
  if (settings.githubToken) trust([settings.githubToken]);
  trust(req.secrets);

  const transcriptPath = join(req.runDir, 'transcript.jsonl');
  const lastMessageFile = join(corner?.root ?? req.runDir, 'last-message.txt');
  const readCopy = corner ? agentFileReader(corner.user) : undefined;
  const schemaText = outputSchema?.text;
  const claudeMcpConfig =
    settings.agent === 'claude' ? mcpFile(settings, req.lane.mcpClaude, 'FACTORY_MCP_CLAUDE') : undefined;
  const codexMcp = settings.agent === 'codex' ? mcpFile(settings, req.lane.mcpCodex, 'FACTORY_MCP_CODEX') : undefined;
  const cwd = corner?.tree ?? settings.workingDirectory;
  const command = agentCommand({
    settings,
    workingDirectory: cwd,
    claudeMcpConfig,
    outputSchema,
    lastMessageFile,
    containerSandbox: req.lane.containerSandbox,
    budget,
  });
  if (codexMcp) await addCodexMcp(home, codexMcp);
  const agentEnv = { ...agentEnvironment(req.baseEnv, home.env, settings), ...(corner ? cornerEnv(corner) : {}) };
  // Before a single model token: a login that cannot work or an MCP server that does not answer fails here, fast.
  await preflight(
    {
      agent: settings.agent,
      home,
      mcpFile: claudeMcpConfig ?? codexMcp,
      env: agentEnv,
      cwd,
      user: corner?.user,
    },
    { log: (line) => deps.log(scrubber.scrub(line)) },
  ).catch((err: Error) => {
    throw new Error(scrubber.scrub(err.message));
  });
  const prompt = lanePrompt(req.instructions, req.pullRequest, schemaText);
  await writeFile(join(req.runDir, 'prompt.md'), prompt, { mode: 0o600 });

  const parse = settings.agent === 'codex' ? parseCodexLine : parseClaudeLine;
  const events: LaneEvent[] = [];
  const meter = budgetMeter(meterLimits(settings.agent, budget));
  const stop = new AbortController();
  let stoppedAt: BudgetBreach | undefined;
  const progress: string[] = [];
  let transcript = Promise.resolve();
  // The transcript is a by-product: a full disk must neither crash the action mid-run (an unhandled rejection
  // while the CLI's tree runs on) nor cost the run its reports.
  let transcriptError: string | undefined;
  const started = deps.now();
  deps.log(scrubber.scrub(`${settings.agent} ${command.args.filter((a) => a !== schemaText).join(' ')}`));
  const end = await deps.runner
    .run({
      ...command,
      cwd,
      env: { ...command.env, ...agentEnv },
      user: corner?.user,
      stdin: prompt,
      timeoutMs: budget.wallClockMinutes * 60_000,
      stop: stop.signal,
      onSpawn: deps.agentStarted,
      onLine: (line) => {
        const clean = scrubber.scrub(line);
        transcript = transcript
          .then(() => appendFile(transcriptPath, `${clean}\n`, { mode: 0o600 }))
          .catch((err: Error) => void (transcriptError ??= err.message));
        for (const event of parse(line)) {
          events.push(event);
          const breach = meter.observe(event);
          if (breach && !stoppedAt) {
            stoppedAt = breach;
            stop.abort();
          }
          if (event.kind !== 'progress') continue;
          const text = scrubber.scrub(event.text);
          deps.log(text);
          if (progress.push(text) > PROGRESS_KEEP) progress.shift();
        }
      },
    })
    .catch((err: NodeJS.ErrnoException) => {
      throw err.code === 'ENOENT'
        ? new Error(
            `the ${command.command} CLI is not on PATH; lane images install it (factory/base does: docs/images.md)`,
          )
        : err;
    });
  if (end.outputHeldOpen)
    deps.warn(
      `the ${command.command} CLI exited but a process outside its tree kept its output open; the lane stopped reading it`,
    );
  await transcript;
  if (transcriptError) deps.warn(`the transcript at ${transcriptPath} is incomplete: ${transcriptError}`);
  const durationMs = deps.now() - started;

  // A refreshed token is a new secret: mask it before anything below can print it, and take it out of the
  // transcript too, whose lines were scrubbed before the token existed (an agent that printed its auth file).
  if (trust((await currentCredentials(home, readCopy)).flatMap(credentialValues))) {
    const written = await readFile(transcriptPath, 'utf8').catch(() => undefined);
    if (written !== undefined) await writeFile(transcriptPath, scrubber.scrub(written), { mode: 0o600 });
  }
  const writeBack = await writeBackCredentials(home, { readCopy });
  for (const w of writeBack) {
    // Unless the lane kept the rotated token (or already has a newer one), the next job on it may find its login gone.
    (keptLogin(w.outcome) ? deps.log : deps.warn)(
      `credentials ${w.source}: ${w.outcome}${w.detail ? ` (${scrubber.scrub(w.detail)})` : ''}`,
    );
  }

  const outcome = foldEvents(events);
  if (settings.agent === 'codex' && !outcome.answer) {
    const last = await (readCopy ?? readJobFile)(lastMessageFile).catch(() => undefined);
    outcome.answer = last?.kind === 'text' ? last.text.trim() : '';
  }
  // Scrubbed before it is parsed: the structured answer feeds check-run annotations and second-opinion's
  // base64 marker, where no later scrub of the finished text can see a secret.
  outcome.answer = scrubber.scrub(outcome.answer);
  const stderrTail = scrubber.scrub(end.stderr.trim().split('\n').slice(-20).join('\n'));
  const breach = end.cancelled
    ? undefined
    : ((end.stopped ? stoppedAt : undefined) ?? cliBreach(outcome, budget) ?? wallClockBreach(end, budget));
  let failure = breach
    ? undefined
    : classifyFailure(
        settings.agent,
        outcome,
        { exitCode: end.exitCode, timedOut: end.timedOut, cancelled: end.cancelled, stderrTail },
        budget.wallClockMinutes,
      );
  const judged = failure ? undefined : await judge(outcome, schemaText);
  // A stopped run's answer is what it had said so far: findings it already gave in the schema's shape still count.
  if (judged && 'failure' in judged && !breach) failure = judged.failure;
  const structured = judged && 'value' in judged ? judged.value : undefined;

  return {
    agent: settings.agent,
    mode: settings.mode,
    model: settings.model ?? outcome.model,
    conclusion: failure ? 'failure' : breach ? 'neutral' : (verdictOf(structured) ?? 'success'),
    answer: outcome.answer,
    structured,
    findings: findingsOf(structured),
    usage: { ...outcome.usage, durationMs, turns: outcome.turns },
    budget,
    breach,
    sessionId: outcome.sessionId,
    transcriptPath,
    failure: failure && { ...failure, message: scrubber.scrub(failure.message) },
    writeBack,
    progress,
    scrub: (text) => scrubber.scrub(text),
  };
}

/** A budget the CLI was given and stopped itself at (claude's --max-turns, --max-budget-usd). */
function cliBreach(outcome: AgentOutcome, budget: Budget): BudgetBreach | undefined {
  const name = outcome.stoppedAt;
  const limit = name && budget[name];
  if (!name || limit === undefined) return undefined;
  // claude's num_turns counts the turn it refused too (3 at --max-turns 2): the run used its cap, which is what it says.
  return { name, used: name === 'turns' ? limit : (outcome.usage.costUsd ?? limit), limit };
}

function wallClockBreach(end: { timedOut: boolean }, budget: Budget): BudgetBreach | undefined {
  if (!end.timedOut) return undefined;
  // The limit, not the measured time: the kill's grace period is not the agent's.
  return { name: 'wallClockMinutes', used: budget.wallClockMinutes, limit: budget.wallClockMinutes };
}

async function judge(
  outcome: AgentOutcome,
  schemaText: string | undefined,
): Promise<{ value: unknown } | { failure: LaneFailure } | undefined> {
  if (schemaText === undefined) return undefined;
  const check = await checkAnswer(outcome.answer, schemaText);
  return check.ok ? { value: check.value } : { failure: { kind: 'reported', message: check.reason } };
}

interface OutputSchema {
  path: string;
  text: string;
}

/** The schema from `output-schema` (inline; written into the run directory, since codex reads a file) or from
 * `output-schema-file`; either way checked before the CLI starts. */
async function readOutputSchema(settings: LaneSettings, runDir: string): Promise<OutputSchema | undefined> {
  if (settings.outputSchemaJson !== undefined) {
    const problem = await schemaProblem(settings.outputSchemaJson);
    if (problem) throw new Error(`input "output-schema": the schema ${problem}`);
    const path = join(runDir, 'output-schema.json');
    await writeFile(path, settings.outputSchemaJson, { mode: 0o644 }); // not secret; the agent's user reads it
    return { path, text: settings.outputSchemaJson };
  }
  if (!settings.outputSchema) return undefined;
  const path = resolve(settings.workingDirectory, settings.outputSchema);
  const text = await readFile(path, 'utf8').catch((err: Error) => {
    throw new Error(`input "output-schema-file": ${err.message}`);
  });
  const problem = await schemaProblem(text);
  if (problem) throw new Error(`input "output-schema-file": ${path} ${problem}`);
  return { path, text };
}

/** The input wins over the lane profile's file; either must exist, and the error says which one did not. */
function mcpFile(settings: LaneSettings, fromLane: string | undefined, laneVariable: string): string | undefined {
  const path = settings.mcpConfig ?? fromLane;
  if (!path) return undefined;
  const full = resolve(settings.workingDirectory, path);
  if (!existsSync(full))
    throw new Error(`${settings.mcpConfig ? 'input "mcp-config"' : laneVariable}: ${full} does not exist`);
  return full;
}

async function addCodexMcp(home: PrivateHome, mcpToml: string | undefined): Promise<void> {
  if (!mcpToml) return;
  const configPath = join(home.dir, 'config.toml');
  const config = await readFile(configPath, 'utf8').catch(() => '');
  await writeFile(configPath, mergeMcpServers(config, await readFile(mcpToml, 'utf8')), { mode: home.fileMode });
  await chmod(configPath, home.fileMode);
}

/** The agent's own HOME and TMPDIR, and its tree as the workspace; git trusts a checkout another user (the runner)
 * owns. */
function cornerEnv(corner: AgentCorner): Record<string, string> {
  return {
    ...(corner.tree ? { GITHUB_WORKSPACE: corner.tree } : {}),
    HOME: join(corner.root, 'home'),
    TMPDIR: join(corner.root, 'tmp'),
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: 'safe.directory',
    GIT_CONFIG_VALUE_0: '*',
  };
}
