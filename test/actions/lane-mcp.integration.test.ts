// A claude lane's MCP servers with the real claude CLI: the servers the profile renders are the only ones a build
// starts, and a hosted server with `credential: oauth` is reached with the login claude keeps for it on the host,
// carried in the lane's claude auth copy.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../controller/config/config.js';
import { claudeMcpOAuthKey, renderClaudeMcp } from '../../controller/lanes/mcp-render.js';
import { runAction, visibleLog, webhookExample, type ActionRun } from '../support/action-run.js';
import { agentUserFixture, handLaneToRunner } from '../support/agent-user.js';
import { startFakeGitHub, type FakeGitHub } from '../support/fake-github.js';
import { startFakeHostedMcp, type FakeHostedMcp } from '../support/fake-hosted-mcp.js';
import { startFakeModelServer, type FakeModelServer } from '../support/fake-model-server.js';
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
function renderLaneMcp(lane: LaneJob, servers: unknown[]): string {
  const result = parseConfig(
    JSON.stringify({
      github: { auth: { tokenEnv: 'T' }, webhook: { secret: { env: 'S' } } },
      profiles: {
        claude: {
          trusted: true,
          labels: ['self-hosted', 'claude'],
          image: 'factory/base:0.1.0',
          mounts: [{ kind: 'auth', agent: 'claude', source: '/home/ali/.claude' }],
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
  writeFileSync(file, renderClaudeMcp(result.config.profiles.claude!.mcp), { mode: 0o644 });
  return file;
}

/** A build-mode claude lane run, the agent as its own user, as factory/base runs it. */
async function runBuild(lane: LaneJob, mcpFile: string, allowedTools: string): Promise<ActionRun> {
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

  it.each([
    ['as the host keeps it', true],
    // What a brokered lane's placeholder file carries (broker-placeholders.ts): claude uses a current access token
    // without the refresh token beside it.
    ['with its access token alone', false],
  ])('reaches a hosted server with credential oauth through the login claude keeps for it, %s', async (_, refresh) => {
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
          ...(refresh ? { refreshToken: 'mcp-oauth-linear-refresh-8b2d4e' } : {}),
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
});
