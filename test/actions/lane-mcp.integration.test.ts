// A claude lane's MCP servers with the real claude CLI: the servers the profile renders are the only ones a build
// starts, and a hosted server with `credential: oauth` is reached with the login claude keeps for it on the host:
// carried in the lane's claude auth copy, or, brokered, added by the job's broker while the job holds none of it.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../controller/config/config.js';
import { LoginRefreshers } from '../../controller/broker/login-refresher.js';
import { startModelBroker, type ModelBroker } from '../../controller/broker/model-broker.js';
import {
  BROKER_URL_MARK,
  claudeMcpOAuthKey,
  MCP_BROKER_TOKEN_ENV,
  renderClaudeMcp,
} from '../../controller/lanes/mcp-render.js';
import { runAction, visibleLog, webhookExample, type ActionRun } from '../support/action-run.js';
import { agentUserFixture, handLaneToRunner } from '../support/agent-user.js';
import { startFakeGitHub, type FakeGitHub } from '../support/fake-github.js';
import { startFakeHostedMcp, type FakeHostedMcp } from '../support/fake-hosted-mcp.js';
import { startFakeModelServer, type FakeModelServer } from '../support/fake-model-server.js';
import { hostMcpOAuth, startFakeOAuthMcp } from '../support/fake-oauth-mcp.js';
import { freshLaneJob, laneJobEnv, type LaneJob } from '../support/lane-job.js';

const NOTES_SERVER = join(import.meta.dirname, '../fixtures/mcp-servers/notes-server.mjs');
const PR = webhookExample('pull_request', 'opened');

let model: FakeModelServer;
let github: FakeGitHub;

beforeAll(async () => {
  model = await startFakeModelServer();
  github = await startFakeGitHub();
  github.permissions.set('Codertocat', 'write');
});
afterAll(async () => {
  await model?.close();
  await github?.close();
});

/** The profile's `mcp:` list as factory.yml gives it, rendered by the controller into the lane's claude file. */
function renderLaneMcp(lane: LaneJob, servers: unknown[], brokerUrl?: string): string {
  const result = parseConfig(
    JSON.stringify({
      github: { auth: { tokenEnv: 'T' }, webhook: { secret: { env: 'S' } } },
      profiles: {
        claude: {
          trusted: true,
          labels: ['self-hosted', 'claude'],
          image: 'factory/base:0.1.0',
          mounts: [{ kind: 'auth', agent: 'claude', source: '/home/ali/.claude' }],
          ...(brokerUrl ? { auth: 'broker', network: 'host' } : {}),
          mcp: servers,
        },
      },
      repos: [{ repo: 'o/r', profiles: ['claude'] }],
    }),
  );
  if (!result.ok) throw new Error(result.problems.join('\n'));
  const dir = join(lane.root, 'mcp');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'claude.json');
  // Brokered, the launch writes the job's broker in (JobBrokers.grant).
  const rendered = renderClaudeMcp(result.config.profiles.claude!.mcp, brokerUrl !== undefined);
  writeFileSync(file, brokerUrl ? rendered.replaceAll(BROKER_URL_MARK, brokerUrl) : rendered, { mode: 0o644 });
  return file;
}

/** A build-mode claude lane run, the agent as its own user, as factory/base runs it. */
async function runBuild(
  lane: LaneJob,
  mcpFile: string,
  allowedTools: string,
  extraEnv: Record<string, string> = {},
): Promise<ActionRun> {
  const users = agentUserFixture();
  handLaneToRunner(lane);
  chmodSync(join(lane.root, 'mcp'), 0o755);
  return runAction({
    runAs: users.runAs,
    action: 'agent-lane',
    inputs: {
      'github-token': 'ghs_faketoken0123456789abcdefABCDEF012345',
      'timeout-minutes': '1',
      agent: 'claude',
      mode: 'build',
      prompt: 'Look it up.',
      'allowed-tools': allowedTools,
      report: 'summary',
    },
    event: { name: 'pull_request', payload: PR },
    env: {
      GITHUB_ACTOR: 'Codertocat',
      ...laneJobEnv(lane, 'claude', { model: model.url, github: github.url }),
      ...users.env,
      FACTORY_MCP_CLAUDE: mcpFile,
      // A server that does not answer must not hold the run for claude's default 30 s.
      MCP_TIMEOUT: '20000',
      ...extraEnv,
    },
    spawnMarker: /^claude --print/m,
  });
}

const modelSaw = () => JSON.stringify(model.requests.filter((r) => r.api === 'anthropic').map((r) => r.body));

describe('a claude lane in build mode', () => {
  it("starts only the rendered MCP servers, none of the host's that its claude.json lists", async () => {
    const lane = freshLaneJob(model.url);
    const markers = join(lane.root, 'markers');
    mkdirSync(markers);
    chmodSync(markers, 0o777);
    // The host's claude.json, copied with the login: its servers name host paths, one of them the rendered one's name.
    const hostServer = (name: string) => ({
      type: 'stdio',
      command: process.execPath,
      args: [NOTES_SERVER, name, join(markers, `${name}-started`)],
    });
    writeFileSync(
      lane.claudeJson,
      JSON.stringify({
        hasCompletedOnboarding: true,
        numStartups: 3,
        mcpServers: { 'pkm-agent': hostServer('host-pkm-agent'), playwright: hostServer('host-playwright') },
      }),
      { mode: 0o600 },
    );
    const mcpFile = renderLaneMcp(lane, [
      {
        name: 'pkm-agent',
        command: process.execPath,
        args: [NOTES_SERVER, 'lane-pkm-agent', join(markers, 'lane-pkm-agent-started')],
      },
    ]);
    model.script('anthropic', [
      { kind: 'tool', name: 'mcp__pkm-agent__lookup', input: {} },
      { kind: 'text', text: 'Looked it up.' },
    ]);

    const run = await runBuild(lane, mcpFile, 'mcp__pkm-agent__lookup');

    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(existsSync(join(markers, 'lane-pkm-agent-started'))).toBe(true);
    expect(existsSync(join(markers, 'host-pkm-agent-started'))).toBe(false);
    expect(existsSync(join(markers, 'host-playwright-started'))).toBe(false);
    expect(modelSaw()).toContain('answered by lane-pkm-agent');
  });

  it('reaches a hosted server with credential oauth through the login claude keeps for it, as the host keeps it', async () => {
    const token = 'mcp-oauth-linear-access-3f9a1c';
    const linear: FakeHostedMcp = await startFakeHostedMcp('linear', token);
    try {
      const lane = freshLaneJob(model.url);
      // The host's claude credentials: its own login and, beside it, the Linear login `/mcp` made in a browser.
      const credentials = join(lane.claudeConfigDir, '.credentials.json');
      const host = JSON.parse(readFileSync(credentials, 'utf8')) as Record<string, unknown>;
      host.mcpOAuth = {
        [claudeMcpOAuthKey('linear', linear.url)]: {
          serverName: 'linear',
          serverUrl: linear.url,
          accessToken: token,
          refreshToken: 'mcp-oauth-linear-refresh-8b2d4e',
          expiresAt: Date.now() + 3600_000,
          scope: 'read write',
        },
      };
      writeFileSync(credentials, JSON.stringify(host), { mode: 0o600 });
      const mcpFile = renderLaneMcp(lane, [{ name: 'linear', url: linear.url, credential: 'oauth' }]);
      model.script('anthropic', [
        { kind: 'tool', name: 'mcp__linear__whoami', input: {} },
        { kind: 'text', text: 'Linear answered.' },
      ]);

      const run = await runBuild(lane, mcpFile, 'mcp__linear__whoami');

      expect(run.exitCode, run.stdout + run.stderr).toBe(0);
      expect(linear.authorizations).toContain(`Bearer ${token}`);
      expect(modelSaw()).toContain("linear account: the host's own");
      expect(visibleLog(run.stdout) + run.summary).not.toContain(token);
    } finally {
      await linear.close();
    }
  });

  it('reaches a hosted server with credential oauth through its broker, holding no login for it', async () => {
    const linear = await startFakeOAuthMcp({ name: 'linear', now: Date.now });
    const hostDir = mkdtempSync(join(tmpdir(), 'lane-mcp-host-'));
    let broker: ModelBroker | undefined;
    try {
      // The host's claude is logged in to Linear; its token has expired, so the broker refreshes it on the host.
      const login = linear.login();
      const hostCredentials = join(hostDir, '.credentials.json');
      writeFileSync(
        hostCredentials,
        JSON.stringify({
          mcpOAuth: hostMcpOAuth('linear', linear, login, Date.now() - 60_000),
        }),
        { mode: 0o600 },
      );
      const servers = [{ name: 'linear', url: linear.url, credential: 'oauth' as const }];
      broker = await startModelBroker(
        {
          runnerName: 'lane',
          logins: new Map(),
          models: [],
          mcp: { servers, envFiles: [], claudeCredentials: hostCredentials },
        },
        {
          refreshers: new LoginRefreshers({ claude: '', codex: '' }),
          upstreams: { anthropicUrl: model.url, openaiUrl: model.url, chatgptUrl: model.url },
        },
      );
      // The job's files as a brokered release leaves them: its claude login alone, the entry at the broker.
      const lane = freshLaneJob(model.url);
      const jobCredentials = readFileSync(join(lane.claudeConfigDir, '.credentials.json'), 'utf8');
      expect(jobCredentials).not.toContain('mcpOAuth');
      const mcpFile = renderLaneMcp(lane, servers, `http://127.0.0.1:${broker.port}`);
      model.script('anthropic', [
        { kind: 'tool', name: 'mcp__linear__whoami', input: {} },
        { kind: 'text', text: 'Linear answered.' },
      ]);

      const run = await runBuild(lane, mcpFile, 'mcp__linear__whoami', { [MCP_BROKER_TOKEN_ENV]: broker.token });

      expect(run.exitCode, run.stdout + run.stderr).toBe(0);
      expect(modelSaw()).toContain("linear account: the host's own");
      expect(linear.refreshes).toBe(1);
      const refreshed = JSON.parse(readFileSync(hostCredentials, 'utf8')).mcpOAuth[
        claudeMcpOAuthKey('linear', linear.url)
      ];
      expect(new Set(linear.authorizations)).toEqual(new Set([`Bearer ${refreshed.accessToken}`]));
      expect(visibleLog(run.stdout) + run.summary).not.toContain(refreshed.accessToken);
    } finally {
      await broker?.close();
      await linear.close();
      rmSync(hostDir, { recursive: true, force: true });
    }
  });
});
