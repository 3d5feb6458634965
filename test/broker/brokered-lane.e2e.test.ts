// A brokered lane on the real Docker engine, through the controller: a root shell in the job finds none of the host's
// tokens (environment, every process's environ and command line, the files it can read, the broker's answers), not
// even its MCP server's static token, the host claude's OAuth login for a hosted server or the host's gh token (its gh
// folder holds a placeholder and the broker's socket), yet reaches the model and those servers through its broker; once the job ended, its placeholder opens
// nothing. A controller stopped without cleanup and started again gives the running job its broker back, on the port
// and with the placeholder the job was given (example-lanes.e2e has the same behind egress).
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JobBrokers } from '../../controller/broker/job-brokers.js';
import { parseConfig } from '../../controller/config/config.js';
import { readBrokerGrant } from '../../controller/lanes/broker-placeholders.js';
import { prepareJobFolder } from '../../controller/lanes/job-folder.js';
import { jobDir } from '../../controller/lanes/lane-layout.js';
import { releasedGhDir, releaseJob } from '../../controller/lanes/release.js';
import { startFakeGhApi } from '../support/fake-gh-api.js';
import { ensureLocalBase } from '../support/local-base.js';
import { startHarness, waitFor, type Harness } from '../support/harness.js';
import { awaitReleaseShell } from '../support/release-shell.js';
import { startFakeModelServer, type FakeModelServer } from '../support/fake-model-server.js';
import { startFakeHostedMcp, type FakeHostedMcp } from '../support/fake-hosted-mcp.js';
import { claudeMcpOAuthKey, MCP_BROKER_TOKEN_ENV } from '../../controller/lanes/mcp-render.js';
import { hostMcpOAuth, startFakeOAuthMcp, type FakeOAuthMcp } from '../support/fake-oauth-mcp.js';
import { codexIdToken } from '../support/fake-login-provider.js';
import { claudeLogin } from '../support/lane-homes.js';

const LABELS = ['self-hosted', 'factory', 'claude'];
const SECRETS = [
  'sk-ant-oat01-brokerhostaccess',
  'sk-ant-ort01-brokerhostrefresh',
  'codex-at-brokerhost',
  'codex-rt-brokerhost',
  'lin-api-brokerhost-mcp',
  'gho_brokerhostGhToken0123456789abcdef',
];

let root: string;
let h: Harness | undefined;
let model: FakeModelServer;
let linear: FakeHostedMcp;
/** A hosted server the host's claude logged in to; its tokens' names carry `brokerhost`, which the job's grep seeks. */
let sentry: FakeOAuthMcp;
let sentryLogin: ReturnType<FakeOAuthMcp['login']>;
beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), 'factory-broker-lane-'));
  chmodSync(root, 0o755);
  model = await startFakeModelServer();
  linear = await startFakeHostedMcp('linear', SECRETS[4]!);
  sentry = await startFakeOAuthMcp({ name: 'sentry-brokerhost', now: Date.now });
  sentryLogin = sentry.login();
});
afterEach(async () => {
  await h?.stop();
  h = undefined;
  await model.close();
  await linear.close();
  await sentry.close();
  rmSync(root, { recursive: true, force: true });
});

function hostLogins() {
  const claude = join(root, 'host', '.claude');
  const codex = join(root, 'host', '.codex');
  const gh = join(root, 'host', 'gh');
  const results = join(root, 'results');
  for (const d of [claude, codex, gh, results]) mkdirSync(d, { recursive: true });
  writeFileSync(join(gh, 'hosts.yml'), `github.com:\n    oauth_token: ${SECRETS[5]}\n    user: octocat\n`, {
    mode: 0o600,
  });
  chmodSync(results, 0o777);
  // Its claude login, and beside it the hosted server's that `/mcp` made, expired: the broker refreshes it on the host.
  const mcpOAuth = hostMcpOAuth('sentry', sentry, sentryLogin, Date.now() - 1000);
  writeFileSync(
    join(claude, '.credentials.json'),
    JSON.stringify({ ...claudeLogin(SECRETS[0]!, SECRETS[1]!), mcpOAuth }),
    { mode: 0o600 },
  );
  writeFileSync(
    join(codex, 'auth.json'),
    JSON.stringify({
      tokens: {
        id_token: codexIdToken('acct-1'),
        access_token: SECRETS[2],
        refresh_token: SECRETS[3],
        account_id: 'acct-1',
      },
      last_refresh: new Date().toISOString(),
    }),
    { mode: 0o600 },
  );
  const envFile = join(root, 'host', 'lane.env');
  writeFileSync(envFile, `LINEAR_API_KEY=${SECRETS[4]}\nDEPLOY_HOOK=kept-value\n`, { mode: 0o600 });
  return { claude, codex, gh, results, envFile };
}

/** The harness of a brokered host-network lane whose job runs `command` as root once its release is written. */
function brokeredLane(f: ReturnType<typeof hostLogins>, command: string) {
  return {
    repo: 'factory-test/broker-lane',
    config: {
      stateDir: join(root, 'state'),
      broker: { anthropicUrl: model.url, openaiUrl: `${model.url}/v1`, chatgptUrl: `${model.url}/v1` },
    },
    profile: {
      labels: LABELS,
      trusted: true,
      lane: 'claude',
      auth: 'broker',
      network: 'host',
      user: '0:0',
      models: ['claude-sonnet-*'],
      mounts: [
        { kind: 'auth', agent: 'claude', source: f.claude },
        { kind: 'auth', agent: 'codex', source: f.codex },
        { kind: 'gh', source: f.gh },
        { kind: 'bind', source: f.results, target: '/results', mode: 'rw' },
      ],
      envFiles: [f.envFile],
      mcp: [
        { name: 'linear', url: linear.url, tokenEnv: 'LINEAR_API_KEY' },
        { name: 'sentry', url: sentry.url, credential: 'oauth' },
      ],
      env: { STANDIN_JOB_COMMAND: awaitReleaseShell([MCP_BROKER_TOKEN_ENV]) + command },
    },
  };
}

// As root in the job: what a prompt-injected agent with the container's every privilege could look at.
const LOOK = [
  'env > /results/env.txt',
  'for p in /proc/[0-9]*; do tr "\\0" "\\n" < $p/environ; tr "\\0" " " < $p/cmdline; echo; done > /results/proc.txt 2>/dev/null',
  'cat /factory/auth/claude/* /factory/auth/codex/* > /results/files.txt 2>/dev/null',
  // The gh folder: a placeholder login, a config that sends gh to the socket beside it, and that socket.
  'cat /home/runner/.config/gh/hosts.yml /home/runner/.config/gh/config.yml > /results/gh.txt',
  'test -S /home/runner/.config/gh/gh.sock && echo socket > /results/ghsock.txt',
  'grep -rl -e brokerhost / --exclude-dir=proc --exclude-dir=sys --exclude-dir=results > /results/grep.txt 2>/dev/null',
  'PH=$(sed -n \'s/.*"accessToken":"\\([^"]*\\)".*/\\1/p\' /factory/auth/claude/.credentials.json)',
  'echo "$PH" > /results/placeholder.txt',
  'URL=$(sed -n \'s/.*"ANTHROPIC_BASE_URL": "\\([^"]*\\)".*/\\1/p\' /factory/auth/claude/settings.json)',
  'echo "$URL" > /results/url.txt',
  'for p in / /v1/models /api/oauth/profile /chatgpt/wham/usage /.credentials.json; do wget -q -S -O - --header "Authorization: Bearer $PH" "$URL$p" 2>&1; echo; done > /results/answers.txt',
  'wget -q -O /results/model.txt --header "Authorization: Bearer $PH" --header "content-type: application/json" --post-data \'{"model":"claude-sonnet-4-5","max_tokens":8,"messages":[]}\' "$URL/v1/messages"',
  // The MCP server as the rendered entry names it, with the released placeholder as its bearer.
  'cat /factory/release/env.json /factory/mcp/* > /results/released.txt',
  'MURL=$(sed -n \'s/.*"url": "\\([^"]*\\/mcp\\/linear\\)".*/\\1/p\' /factory/mcp/claude.json)',
  'echo "$MURL" > /results/mcpurl.txt',
  `wget -q -O /results/mcp.txt --header "Authorization: Bearer $${MCP_BROKER_TOKEN_ENV}" --header "content-type: application/json" --header "accept: application/json, text/event-stream" --post-data '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-03-26","capabilities":{},"clientInfo":{"name":"sh","version":"1"}}}' "$MURL"`,
  // The hosted server behind the host claude's OAuth login, the same way: the job's credentials hold no login for it.
  `wget -q -O /results/mcp-oauth.txt --header "Authorization: Bearer $${MCP_BROKER_TOKEN_ENV}" --header "content-type: application/json" --header "accept: application/json, text/event-stream" --post-data '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-03-26","capabilities":{},"clientInfo":{"name":"sh","version":"1"}}}' "\${MURL%/linear}/sentry"`,
].join('; ');

describe('a brokered lane', () => {
  it('holds no real credential, reaches the model through its broker, and its placeholder dies with it', async () => {
    const f = hostLogins();
    h = await startHarness(brokeredLane(f, LOOK));
    const jobId = await h.github.queueJob(h.repo, LABELS);
    await waitFor(
      'the brokered job',
      () => h!.github.jobs.get(jobId)?.status === 'completed' && h!.service.controller.snapshot().runners.length === 0,
    );
    const read = (name: string) => readFileSync(join(f.results, name), 'utf8');
    for (const name of [
      'env.txt',
      'proc.txt',
      'files.txt',
      'answers.txt',
      'model.txt',
      'released.txt',
      'mcp.txt',
      'mcp-oauth.txt',
      'gh.txt',
    ])
      for (const secret of [...SECRETS, sentryLogin.accessToken, sentryLogin.refreshToken, sentryLogin.clientSecret])
        expect(read(name), `${name} holds ${secret}`).not.toContain(secret);
    expect(read('grep.txt')).toBe('');
    expect(read('env.txt')).toContain('ANTHROPIC_BASE_URL=http://127.0.0.1:');
    // gh's login in the job is a placeholder, and gh is sent to the broker's socket, which was there.
    expect(read('gh.txt')).toMatch(/oauth_token: factory-broker-\S+/);
    expect(read('gh.txt')).toContain('http_unix_socket: /home/runner/.config/gh/gh.sock');
    expect(read('ghsock.txt')).toBe('socket\n');
    // Every unknown path answered 404 and nothing else.
    expect(new Set(read('answers.txt').match(/HTTP\/1\.1 \d+/g))).toEqual(new Set(['HTTP/1.1 404']));
    // The model request went through, with the host's token swapped in.
    expect(JSON.parse(read('model.txt')).type).toBe('message');
    expect(model.requests.filter((r) => r.api === 'anthropic').map((r) => r.authorization)).toEqual([
      `Bearer ${SECRETS[0]}`,
    ]);
    // The MCP server answered through the broker, which sent the host's token in place of the placeholder.
    expect(read('released.txt')).toContain('kept-value');
    expect(read('mcpurl.txt')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp\/linear$/m);
    expect(read('mcp.txt')).toContain('"serverInfo"');
    expect(new Set(linear.authorizations)).toEqual(new Set([`Bearer ${SECRETS[4]}`]));
    // The hosted server too: its expired login refreshed once on the host, the job's files hold none of it.
    expect(read('mcp-oauth.txt')).toContain('"serverInfo"');
    expect(sentry.refreshes).toBe(1);
    const refreshed = JSON.parse(readFileSync(join(f.claude, '.credentials.json'), 'utf8')).mcpOAuth[
      claudeMcpOAuthKey('sentry', sentry.url)
    ];
    expect(new Set(sentry.authorizations)).toEqual(new Set([`Bearer ${refreshed.accessToken}`]));
    expect(read('files.txt')).not.toContain('mcpOAuth');
    // The job ended: its broker is closed, so the placeholder taken out of it reaches nothing.
    const placeholder = read('placeholder.txt').trim();
    expect(placeholder).toMatch(/^factory-broker-/);
    await expect(
      fetch(`${read('url.txt').trim()}/v1/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${placeholder}` },
        body: '{"model":"claude-sonnet-4-5"}',
      }),
    ).rejects.toThrow();
  });

  it("lets the real gh in factory/base, as the job's user and with no network, reach GitHub's API through its socket alone", async () => {
    const f = hostLogins();
    const api = await startFakeGhApi('octocat');
    const parsed = parseConfig(`
github: { auth: { tokenEnv: T }, webhook: { secret: { env: S } } }
stateDir: ${join(root, 'state')}
broker: { githubApiUrl: ${api.url} }
profiles:
  lane:
    trusted: true
    labels: [self-hosted, factory, lane]
    image: factory/base:0.1.0
    network: host
    auth: broker
    mounts: [{ kind: auth, agent: claude, source: ${f.claude} }, { kind: gh, source: ${f.gh} }]
repos: [{ repo: o/r, profiles: [lane] }]
`);
    if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
    const { config } = parsed;
    const profile = config.profiles.lane!;
    const brokers = new JobBrokers(() => config);
    try {
      await prepareJobFolder(config, 'lane', profile, 'runner-gh', { brokered: true });
      await brokers.start(profile, 'runner-gh');
      await brokers.grant('runner-gh');
      await releaseJob(config, 'lane', profile, 'runner-gh', { repo: 'o/r', jobId: 1, runId: 1 });
      // The container as a lane's would have it: the gh folder bound read-only, the runner's uid, no way out at all.
      const { stdout } = await promisify(execFile)('docker', [
        'run',
        '--rm',
        '--network',
        'none',
        '--user',
        '1000:1000',
        '--cap-drop',
        'ALL',
        '-v',
        `${releasedGhDir(config, 'runner-gh', 1)}:/home/runner/.config/gh:ro`,
        '-e',
        'GH_CONFIG_DIR=/home/runner/.config/gh',
        '-e',
        'GH_NO_UPDATE_NOTIFIER=1',
        '--entrypoint',
        'sh',
        await ensureLocalBase(),
        '-c',
        'gh api /user --jq .login && gh auth token',
      ]);
      const placeholder = (await readBrokerGrant(jobDir(config, 'runner-gh')))!.gh!;
      expect(stdout.split('\n')).toEqual(['octocat', placeholder, '']);
      expect(api.requests.map((r) => [r.url, r.authorization])).toEqual([['/user', `token ${SECRETS[5]}`]]);
    } finally {
      await brokers.closeAll();
      await api.close();
    }
  });
});

// The job asks its model and its MCP server through the broker as its files name them, once before the controller's
// restart and once after (when the test says `go`), then waits for `done`.
const waitForFile = (name: string) =>
  `i=0; while [ ! -e /results/${name} ] && [ $i -lt 600 ]; do sleep 0.2; i=$((i+1)); done`;
const ASK_TWICE = [
  'PH=$(sed -n \'s/.*"accessToken":"\\([^"]*\\)".*/\\1/p\' /factory/auth/claude/.credentials.json)',
  'URL=$(sed -n \'s/.*"ANTHROPIC_BASE_URL": "\\([^"]*\\)".*/\\1/p\' /factory/auth/claude/settings.json)',
  'MURL=$(sed -n \'s/.*"url": "\\([^"]*\\/mcp\\/linear\\)".*/\\1/p\' /factory/mcp/claude.json)',
  'echo "$PH" > /results/placeholder.txt',
  'echo "$URL" > /results/url.txt',
  'ask() { ' +
    'wget -q -O /results/model-$1.txt --header "Authorization: Bearer $PH" --header "content-type: application/json" --post-data \'{"model":"claude-sonnet-4-5","max_tokens":8,"messages":[]}\' "$URL/v1/messages"; ' +
    `wget -q -O /results/mcp-$1.txt --header "Authorization: Bearer $${MCP_BROKER_TOKEN_ENV}" --header "content-type: application/json" --header "accept: application/json, text/event-stream" --post-data '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-03-26","capabilities":{},"clientInfo":{"name":"sh","version":"1"}}}' "$MURL"; ` +
    'touch /results/asked-$1; }',
  'ask 1',
  waitForFile('go'),
  'ask 2',
  waitForFile('done'),
].join('; ');

describe('a brokered lane across a controller restart', () => {
  it('keeps its model, MCP server and gh login on the port and socket it was given, until its cleanup closes the broker', async () => {
    const f = hostLogins();
    const api = await startFakeGhApi('octocat');
    const lane = brokeredLane(f, ASK_TWICE);
    h = await startHarness({
      ...lane,
      config: { ...lane.config, broker: { ...lane.config.broker, githubApiUrl: api.url } },
    });
    const jobId = await h.github.queueJob(h.repo, LABELS);
    const read = (name: string) => readFileSync(join(f.results, name), 'utf8');
    await waitFor('the ask before the restart', () => existsSync(join(f.results, 'asked-1')), 60_000);

    // Stopped as SIGTERM stops it (its brokers die with it, the job runs on), then started again.
    await h.restart();
    expect(h.service.controller.snapshot().runners).toHaveLength(1);
    // The job's gh socket is served again, for the gh placeholder its files hold (mounts[2] is its gh login).
    const runner = h.service.controller.snapshot().runners[0]!.identity.runnerName;
    const jobFolder = join(root, 'state', 'jobs', runner);
    const ghPlaceholder = JSON.parse(readFileSync(join(jobFolder, 'broker.json'), 'utf8')).gh as string;
    const socketPath = join(jobFolder, 'gh', '2', 'gh.sock');
    expect(await overGhSocket(socketPath, ghPlaceholder)).toBe(200);
    expect(api.requests.map((r) => r.authorization)).toEqual([`token ${SECRETS[5]}`]);
    writeFileSync(join(f.results, 'go'), '');
    await waitFor('the ask after the restart', () => existsSync(join(f.results, 'asked-2')), 30_000);

    for (const n of [1, 2]) {
      expect(JSON.parse(read(`model-${n}.txt`)).type, `model answer ${n}`).toBe('message');
      expect(read(`mcp-${n}.txt`), `MCP answer ${n}`).toContain('"serverInfo"');
    }
    // Both with the host's tokens swapped in for the one placeholder the job holds.
    expect(model.requests.filter((r) => r.api === 'anthropic').map((r) => r.authorization)).toEqual([
      `Bearer ${SECRETS[0]}`,
      `Bearer ${SECRETS[0]}`,
    ]);
    expect(new Set(linear.authorizations)).toEqual(new Set([`Bearer ${SECRETS[4]}`]));

    // The adopted job ends: its cleanup closes the broker it got back, so its placeholder opens nothing.
    writeFileSync(join(f.results, 'done'), '');
    await waitFor(
      'the adopted job and its cleanup',
      () => h!.github.jobs.get(jobId)?.status === 'completed' && h!.service.controller.snapshot().runners.length === 0,
    );
    await expect(
      fetch(`${read('url.txt').trim()}/v1/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${read('placeholder.txt').trim()}` },
        body: '{"model":"claude-sonnet-4-5"}',
      }),
    ).rejects.toThrow();
    await expect(overGhSocket(socketPath, ghPlaceholder)).rejects.toThrow();
    await api.close();
  });
});

/** gh's request for the signed-in user over a job's gh socket; resolves with the status. */
function overGhSocket(socketPath: string, placeholder: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(
        { socketPath, path: '/user', headers: { host: 'api.github.com', authorization: `token ${placeholder}` } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      )
      .on('error', reject);
  });
}
