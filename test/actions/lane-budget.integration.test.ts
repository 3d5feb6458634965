// Budgets and the pre-flight, through the bundled agent-lane action with the real CLIs against the loopback fake
// model: a run stopped at a budget still reports what it found, neutral; a lane whose login or MCP server cannot work
// fails before a single model request.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runAction, webhookExample, type ActionRun } from '../support/action-run.js';
import { startFakeGitHub, type FakeGitHub } from '../support/fake-github.js';
import { startFakeModelServer, type FakeModelServer, type ModelTurn } from '../support/fake-model-server.js';
import { freshLaneJob, laneJobEnv, type LaneJob } from '../support/lane-job.js';
import { startHttpMcpServer, stdioMcpServer } from '../support/mcp-stand-ins.js';

const GITHUB_TOKEN = 'ghs_faketoken0123456789abcdefABCDEF012345';
const PR = webhookExample('pull_request', 'opened');
const ACTOR = 'Codertocat';

let model: FakeModelServer;
let github: FakeGitHub;

beforeAll(async () => {
  model = await startFakeModelServer();
  github = await startFakeGitHub();
  github.permissions.set(ACTOR, 'write');
});
beforeEach(() => {
  model.requests.length = 0;
});
afterAll(async () => {
  await model?.close();
  await github?.close();
});

function run(lane: LaneJob, inputs: Record<string, string>, env: Record<string, string> = {}): Promise<ActionRun> {
  const agent = inputs.agent as 'codex' | 'claude';
  return runAction({
    action: 'agent-lane',
    inputs: { 'github-token': GITHUB_TOKEN, 'timeout-minutes': '1', report: 'summary,comment,check', ...inputs },
    event: { name: 'pull_request', payload: PR },
    env: { GITHUB_ACTOR: ACTOR, ...laneJobEnv(lane, agent, { model: model.url, github: github.url }), ...env },
  });
}

/** Tool calls that never end on their own, each stating a finding first. */
const endlessWork = (tool: string, input: Record<string, unknown>): ModelTurn[] =>
  Array.from({ length: 12 }, (_, i) => ({
    kind: 'tool',
    name: tool,
    input,
    say: `Finding ${i + 1}: src/app.ts off by one.`,
  }));

const modelRequests = () => model.requests.filter((r) => r.api === 'anthropic' || r.api === 'openai');

function expectPartialReport(r: ActionRun, stoppedAt: string): void {
  expect(r.exitCode).toBe(0);
  expect(r.outputs.conclusion).toBe('neutral');
  expect(r.outputs['stopped-at']).toBe(stoppedAt);
  expect(r.stdout).toContain(`::warning::partial — stopped at budget: ${stoppedAt}`);
  expect(r.summary).toContain(`partial — stopped at budget: ${stoppedAt}`);
  expect(r.summary).toContain('Finding 1: src/app.ts off by one.');
  const check = github.checkRuns.at(-1)!;
  expect(check.conclusion).toBe('neutral');
  expect(check.output.title).toContain(`stopped at budget (${stoppedAt})`);
  expect(check.output.summary).toContain(`partial — stopped at budget: ${stoppedAt}`);
  expect(github.comments.at(-1)!.body).toContain('Finding 1');
  expect(JSON.parse(r.outputs.usage!)).toMatchObject({ stopped_at: stoppedAt });
}

describe('lane budgets', () => {
  it('claude stopped at its turn cap posts its partial findings with a neutral check naming the budget', async () => {
    const lane = freshLaneJob(model.url);
    model.script('anthropic', endlessWork('Bash', { command: 'true', description: 'look' }));
    const r = await run(lane, { agent: 'claude', prompt: 'Review.', 'allowed-tools': 'Bash', 'max-turns': '2' });
    expectPartialReport(r, 'turns 2/2');
  });

  it('claude stopped at its token budget posts its partial findings', async () => {
    const lane = freshLaneJob(model.url);
    model.script(
      'anthropic',
      endlessWork('Bash', { command: 'true', description: 'look' }).map((t) => ({
        ...t,
        usage: { input: 400, output: 20 },
      })),
    );
    const r = await run(lane, { agent: 'claude', prompt: 'Review.', 'allowed-tools': 'Bash', 'max-tokens': '1000' });
    expect(r.outputs['stopped-at']).toMatch(/^tokens \d+\/1000$/);
    expectPartialReport(r, r.outputs['stopped-at']!);
  });

  it('codex stopped at its turn cap posts its partial findings', async () => {
    const lane = freshLaneJob(model.url);
    model.script('openai', endlessWork('exec_command', { cmd: 'true' }));
    const r = await run(lane, { agent: 'codex', prompt: 'Review.', 'max-turns': '2' });
    expectPartialReport(r, 'turns 2/2');
  });

  it("an input above the lane profile's budget fails the step before any model request", async () => {
    const lane = freshLaneJob(model.url);
    const r = await run(
      lane,
      { agent: 'claude', prompt: 'Review.', 'max-turns': '50' },
      { FACTORY_BUDGET_TURNS: '40' },
    );
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain(
      `::error::input "max-turns" 50 is above the lane profile's turns budget of 40; an input can only lower a profile's budget, never raise it`,
    );
    expect(modelRequests()).toEqual([]);
  });
});

describe('pre-flight', () => {
  function laneWithMcp(servers: Record<string, unknown>): { lane: LaneJob; env: Record<string, string> } {
    const lane = freshLaneJob(model.url);
    const dir = join(lane.root, 'mcp');
    mkdirSync(dir);
    writeFileSync(join(dir, 'claude.json'), JSON.stringify({ mcpServers: servers }));
    return { lane, env: { FACTORY_MCP_CLAUDE: join(dir, 'claude.json'), LANE_MCP_TOKEN: 'mcp-token-1' } };
  }

  it('a lane whose MCP servers all answer starts the agent', async () => {
    const http = await startHttpMcpServer();
    try {
      const { lane, env } = laneWithMcp({});
      const stdio = stdioMcpServer(lane.root);
      writeFileSync(
        env.FACTORY_MCP_CLAUDE!,
        JSON.stringify({
          mcpServers: {
            docs: { type: 'stdio', ...stdio, env: {} },
            search: { type: 'http', url: http.url, headers: { Authorization: 'Bearer ${LANE_MCP_TOKEN}' } },
          },
        }),
      );
      model.script('anthropic', [{ kind: 'text', text: 'Looks fine.' }]);
      const r = await run(lane, { agent: 'claude', prompt: 'Review.' }, env);
      expect(r.stdout).toMatch(/pre-flight: login ok; 2 MCP servers answered \(docs: 1 tools, search: 1 tools\)/);
      expect(r.outputs.conclusion).toBe('success');
      expect(http.authorizations[0]).toBe('Bearer mcp-token-1');
    } finally {
      await http.close();
    }
  });

  it('a stdio MCP server that exits fails the step naming it, with no model request', async () => {
    const { lane, env } = laneWithMcp({
      broken: { type: 'stdio', command: 'sh', args: ['-c', 'echo "missing DOCS_PATH" >&2; exit 3'], env: {} },
    });
    const started = Date.now();
    const r = await run(lane, { agent: 'claude', prompt: 'Review.' }, env);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain('pre-flight: 1 of 1 MCP servers did not answer; the agent was not started');
    expect(r.stdout).toMatch(
      /MCP server "broken" \(sh -c .*\): exited \(code 3\) before answering initialize; stderr: missing DOCS_PATH/,
    );
    expect(modelRequests()).toEqual([]);
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('an http MCP server that answers 500 fails the step naming it, with no model request', async () => {
    const http = await startHttpMcpServer(500);
    try {
      const { lane, env } = laneWithMcp({ search: { type: 'http', url: http.url } });
      const r = await run(lane, { agent: 'claude', prompt: 'Review.' }, env);
      expect(r.exitCode).toBe(1);
      expect(r.stdout).toContain(
        `MCP server "search" (${http.url}): initialize answered HTTP 500: internal error in the stand-in`,
      );
      expect(modelRequests()).toEqual([]);
    } finally {
      await http.close();
    }
  });

  it('an expired login without a refresh token fails the step before any model request', async () => {
    const lane = freshLaneJob(model.url);
    writeFileSync(
      join(lane.claudeConfigDir, '.credentials.json'),
      JSON.stringify({ claudeAiOauth: { accessToken: 'sk-ant-oat01-x', expiresAt: Date.now() - 60_000 } }),
    );
    const r = await run(lane, { agent: 'claude', prompt: 'Review.' });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/pre-flight: the claude login in .* expired at .* and holds no refresh token/);
    expect(modelRequests()).toEqual([]);
  });
});
