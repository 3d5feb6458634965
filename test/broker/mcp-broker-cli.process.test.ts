// The real claude CLI reads a brokered lane's rendered MCP entry and connects through the job's broker, holding only
// the placeholder: the hosted server (a loopback stand-in) sees the host's token. `claude mcp list` connects to each
// user-scope server to report its health, so it is the CLI's own client that is checked, not the SDK's.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoginRefreshers } from '../../controller/broker/login-refresher.js';
import { startModelBroker, type ModelBroker } from '../../controller/broker/model-broker.js';
import { BROKER_URL_MARK, MCP_BROKER_TOKEN_ENV, renderClaudeMcp } from '../../controller/lanes/mcp-render.js';
import { startFakeHostedMcp, type FakeHostedMcp } from '../support/fake-hosted-mcp.js';

const REAL = 'lin_api_host-only-value';
const run = promisify(execFile);
let root: string;
let linear: FakeHostedMcp;
let broker: ModelBroker;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'factory-mcp-broker-cli-'));
  writeFileSync(join(root, 'lane.env'), `LINEAR_API_KEY=${REAL}\n`);
  linear = await startFakeHostedMcp('linear', REAL);
  const servers = [{ name: 'linear', url: linear.url, credential: 'token' as const, tokenEnv: 'LINEAR_API_KEY' }];
  broker = await startModelBroker(
    { runnerName: 'cli', logins: new Map(), models: [], mcp: { servers, envFiles: [join(root, 'lane.env')] } },
    {
      refreshers: new LoginRefreshers({ claude: '', codex: '' }),
      upstreams: {
        anthropicUrl: 'http://127.0.0.1:9',
        openaiUrl: 'http://127.0.0.1:9',
        chatgptUrl: 'http://127.0.0.1:9',
      },
    },
  );
  // The job's user-scope config holds the rendered entries, the broker's address written in as the launch does.
  const rendered = JSON.parse(
    renderClaudeMcp(servers, true).replaceAll(BROKER_URL_MARK, `http://127.0.0.1:${broker.port}`),
  );
  mkdirSync(join(root, 'home', '.claude'), { recursive: true });
  writeFileSync(join(root, 'home', '.claude', '.claude.json'), JSON.stringify(rendered));
});
afterAll(async () => {
  await broker.close();
  await linear.close();
  rmSync(root, { recursive: true, force: true });
});

const claudeMcpList = (placeholder: string) => {
  const home = join(root, 'home');
  const env: Record<string, string | undefined> = {
    ...process.env,
    HOME: home,
    CLAUDE_CONFIG_DIR: join(home, '.claude'),
  };
  delete env.LINEAR_API_KEY;
  env[MCP_BROKER_TOKEN_ENV] = placeholder;
  return run(join(process.cwd(), 'node_modules/.bin/claude'), ['mcp', 'list'], { cwd: home, env, timeout: 60_000 });
};

describe("the real claude CLI and a brokered lane's MCP entry", () => {
  it('connects through the broker with the placeholder; the server sees the host token', async () => {
    const before = linear.authorizations.length;
    const { stdout } = await claudeMcpList(broker.token);
    expect(stdout).toMatch(
      new RegExp(`^linear: http://127\\.0\\.0\\.1:${broker.port}/mcp/linear \\(HTTP\\) - ✔ Connected`, 'm'),
    );
    const seen = linear.authorizations.slice(before);
    expect(seen.length).toBeGreaterThan(0);
    expect(new Set(seen)).toEqual(new Set([`Bearer ${REAL}`]));
  }, 90_000);

  it('fails to connect with another placeholder, and nothing reaches the server', async () => {
    const before = linear.authorizations.length;
    const { stdout } = await claudeMcpList('factory-broker-made-up');
    expect(stdout).toMatch(/^linear: .* - ✘ Failed to connect/m);
    expect(linear.authorizations.length).toBe(before);
  }, 90_000);
});
