// The example org's claude and codex lanes, as examples/factory.yml writes them (auth: broker, their egress lists),
// each run one job through the controller on the real engine, from the real factory/base: the real CLI in the lane
// container holds only its placeholder, reaches its broker through the job's egress gateway (at the gateway's broker
// port, which the controller relays to the job's own broker), and the broker puts the host's token in the request to
// the fake model. The claude lane's hosted MCP servers (the example's list, at loopback stand-ins) and both lanes' gh
// are reached the same way: the broker adds the host claude's OAuth login for each server and the host's gh token. A
// shell of the job's user then finds none of the host's tokens (model logins, MCP logins, gh) in the container, and an
// unlisted host is refused.
//
// LANES_DEBUG=1 prints the controller's warnings and the job containers' output as they come, and keeps the folder
// with the host logins and what each job wrote (cli.out, cli.err, cli.code) for a look after the run.
//
// Network rule: the gateway's upstream and resolver are a "world" container on a network this test creates (every
// name resolves to it), the model, the broker and GitHub's stand-in are on loopback. The stand-in runner in
// factory/base reaches its GitHub by the loopback URL in its JIT config; behind egress that port is relayed too, and
// the URL is pointed at the gateway as relayedValue does for the lane's own variables (the real runner asks for
// github.com by name through the proxy instead).
//
// The claude lane also outlives its controller: stopped without cleanup and started again, the controller gives the
// running job its broker back (a port of its own, the job's gateway relaying to it) with the placeholder the job
// holds, so the job's model and its brokered MCP server answer again, while a host-network container holding that
// placeholder is still refused; the job's cleanup closes the broker.
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import Docker from 'dockerode';
import { parse } from 'yaml';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { demux } from '../../controller/docker/docker-engine.js';
import { GitHubStandin } from '../../controller/github/standin/github-standin.js';
import { LABEL } from '../../controller/model/runner.js';
import { createLogger } from '../../controller/observe/logger.js';
import { startFakeModelServer, fakeIdToken, type FakeModelServer } from '../support/fake-model-server.js';
import { startHarness, waitFor, type Harness } from '../support/harness.js';
import { claudeLogin, codexConfig } from '../support/lane-homes.js';
import { ensureLocalBase } from '../support/local-base.js';
import { awaitReleaseShell } from '../support/release-shell.js';
import { startFakeGhApi } from '../support/fake-gh-api.js';
import { startFakeHostedMcp, type FakeHostedMcp } from '../support/fake-hosted-mcp.js';
import { claudeMcpOAuthKey, MCP_BROKER_TOKEN_ENV } from '../../controller/lanes/mcp-render.js';
import { runIn } from '../egress/probes.js';
import { startWorld, type World } from '../egress/world.js';

const root = join(import.meta.dirname, '../..');
const docker = new Docker();
const prefix = `fxlanes-${randomBytes(3).toString('hex')}`;
const HOST = {
  claudeAccess: 'sk-ant-oat01-examplelaneaccess7c1d',
  claudeRefresh: 'sk-ant-ort01-examplelanerefresh2e9f',
  codexAccess: 'codex-at-examplelane-5a3b',
  codexRefresh: 'codex-rt-examplelane-8d0c',
  gh: 'gho_examplelanehostgh4f7a',
};
type RawProfile = Record<string, unknown> & { egress: { allow: string[]; loopback: string[] } };
const example = parse(readFileSync(join(root, 'examples/factory.yml'), 'utf8')) as {
  profiles: Record<string, RawProfile>;
};
/** The example claude lane's http MCP servers (its stdio ones run in lane-job.e2e), as written. */
const HOSTED = (example.profiles.claude!.mcp as Array<Record<string, string>>).filter((s) => 'url' in s);
/** The host claude's OAuth login for each `credential: oauth` server: an access and a refresh token of its own. */
const MCP_LOGINS = Object.fromEntries(
  HOSTED.filter((s) => s.credential === 'oauth').map((s) => [
    s.name!,
    { access: `mcp-at-${s.name}-examplelane`, refresh: `mcp-rt-${s.name}-examplelane` },
  ]),
);
const SECRETS = [...Object.values(HOST), ...Object.values(MCP_LOGINS).flatMap((l) => [l.access, l.refresh])];

let image: string;
let world: World;
let model: FakeModelServer;
let standin: GitHubStandin;
let h: Harness | undefined;
let dir: string;
/** Loopback stand-ins a test started, closed after the file. */
const standIns: Array<{ close(): Promise<void> }> = [];

/**
 * The host's logins, as `claude login`, `codex login` and `gh auth login` leave them; with `mcpUrls` (each hosted
 * server's stand-in), the host claude's OAuth logins to the `credential: oauth` ones, filed as claude files them.
 */
function hostLogins(mcpUrls: Record<string, string> = {}) {
  const claude = join(dir, 'host', '.claude');
  const claudeJson = join(dir, 'host', '.claude.json');
  const codex = join(dir, 'host', '.codex');
  const gh = join(dir, 'host', 'gh');
  for (const d of [claude, codex, gh]) mkdirSync(d, { recursive: true });
  const mcpOAuth = Object.fromEntries(
    Object.entries(MCP_LOGINS).flatMap(([name, login]) => {
      const url = mcpUrls[name];
      if (!url) return [];
      const entry = {
        serverName: name,
        serverUrl: url,
        accessToken: login.access,
        refreshToken: login.refresh,
        expiresAt: Date.now() + 24 * 3600_000,
        clientId: `client-${name}`,
      };
      return [[claudeMcpOAuthKey(name, url), entry]];
    }),
  );
  writeFileSync(
    join(claude, '.credentials.json'),
    JSON.stringify({ ...claudeLogin(HOST.claudeAccess, HOST.claudeRefresh, 24 * 3600_000), mcpOAuth }),
    { mode: 0o600 },
  );
  writeFileSync(
    join(gh, 'hosts.yml'),
    `github.com:\n    oauth_token: ${HOST.gh}\n    user: ali\n    git_protocol: https\n`,
    { mode: 0o600 },
  );
  writeFileSync(claudeJson, JSON.stringify({ hasCompletedOnboarding: true, numStartups: 3 }), { mode: 0o600 });
  writeFileSync(
    join(codex, 'auth.json'),
    JSON.stringify({
      OPENAI_API_KEY: null,
      tokens: {
        id_token: fakeIdToken(),
        access_token: HOST.codexAccess,
        refresh_token: HOST.codexRefresh,
        account_id: 'acct-fake',
      },
      last_refresh: new Date().toISOString(),
    }),
    { mode: 0o600 },
  );
  // The host's own config: the model and the phoning-home features off, no provider of its own.
  writeFileSync(
    join(codex, 'config.toml'),
    codexConfig('http://unused').split('\n[model_providers.fake]')[0]!.replace('model_provider = "fake"\n', ''),
    { mode: 0o600 },
  );
  return { claude, claudeJson, codex, gh };
}

/** A folder the job writes what it saw into (the runner's user writes it, the test reads it). */
function resultsDir(agent: string): string {
  const d = join(dir, `results-${agent}`);
  mkdirSync(d, { recursive: true });
  chmodSync(d, 0o777);
  return d;
}

/**
 * The job's one step: the real CLI as the lane runs it (its home the job's auth folder, the container's proxy
 * variables), then an unlisted host asked through the proxy and around it; then it waits while the test looks inside.
 */
function jobCommand(cli: string): string {
  // awaitReleaseShell ends with its own "; ": joined with the steps, it would make "; ;", which sh refuses.
  return (
    // The released placeholder the rendered MCP entries send as their bearer, in the CLI's environment as the lane
    // action puts it.
    awaitReleaseShell([MCP_BROKER_TOKEN_ENV]) +
    [
      `export ${MCP_BROKER_TOKEN_ENV}`,
      'cd /tmp',
      `${cli} > /results/cli.out 2> /results/cli.err; echo $? > /results/cli.code`,
      // gh as the lane has it: its placeholder login, which the broker's socket in the gh folder turns into the host's.
      'gh api /user --jq .login > /results/gh.out 2> /results/gh.err; echo $? > /results/gh.code',
      'curl -sS -m 10 -o /dev/null -w "%{http_code}" https://pastebin.com/ > /results/proxied.txt 2>&1',
      'curl -sS -m 5 --noproxy "*" https://pastebin.com/ > /results/direct.txt 2>&1',
      'touch /results/ran',
      'i=0; while [ ! -e /results/looked ] && [ $i -lt 300 ]; do sleep 0.2; i=$((i+1)); done',
    ].join('; ')
  );
}

const CLAUDE_CLI =
  'CLAUDE_CONFIG_DIR=/factory/auth/claude claude --print --output-format json --mcp-config /factory/mcp/claude.json --model claude-sonnet-4-5 "say hi"';
const CODEX_CLI =
  'CODEX_HOME=/factory/auth/codex codex exec --skip-git-repo-check --sandbox danger-full-access --model fake-codex-model --output-last-message /results/last.txt "say hi" < /dev/null';

/** The example's lane profile, on this machine: its auth, egress, env and agent user as written, the logins and
 * image of this test, its gateway's upstream the world; `more`: its gh login and MCP servers (the stdio servers are
 * left out: lane-job.e2e runs them). */
function exampleLane(
  name: 'claude' | 'codex',
  authMount: Record<string, unknown>,
  results: string,
  cli: string,
  more: { gh?: string; mcp?: unknown[] } = {},
) {
  const p = example.profiles[name]!;
  return {
    ...p,
    image,
    network: world.network,
    mcp: more.mcp ?? [],
    mounts: [
      authMount,
      ...(more.gh ? [{ kind: 'gh', source: more.gh }] : []),
      { kind: 'bind', source: results, target: '/results', mode: 'rw' },
      { kind: 'workspace' },
    ],
    egress: { ...p.egress, loopback: [...p.egress.loopback, `127.0.0.1:${new URL(standin.url).port}`] },
    env: { ...((p.env as Record<string, string> | undefined) ?? {}), STANDIN_JOB_COMMAND: jobCommand(cli) },
  };
}

/** The stand-in runner's URL at the job's gateway (its resolver), whose relay carries it to the loopback stand-in. */
function throughGateway(spec: Docker.ContainerCreateOptions): Docker.ContainerCreateOptions {
  const gateway = (spec.HostConfig as { Dns?: string[] }).Dns?.[0];
  if (!gateway) return spec;
  const jit = 'ACTIONS_RUNNER_INPUT_JITCONFIG=';
  const Env = (spec.Env ?? []).map((e) => {
    if (!e.startsWith(jit)) return e;
    const text = Buffer.from(e.slice(jit.length), 'base64').toString('utf8').replace('127.0.0.1', gateway);
    return jit + Buffer.from(text).toString('base64');
  });
  return { ...spec, Env };
}

/** What a shell in the container finds of `secrets`, and of the placeholder (which it must find, or it saw nothing). */
const LOOK = (needles: string[]) =>
  [
    // Every process but this shell, whose own command line holds the needles.
    'for p in /proc/[0-9]*; do [ $p = /proc/$$ ] && continue; tr "\\0" "\\n" < $p/environ; tr "\\0" " " < $p/cmdline; echo; done > /tmp/.proc 2>/dev/null',
    `echo proc $(grep -c -F ${needles.map((n) => `-e ${n}`).join(' ')} /tmp/.proc)`,
    `echo files $(grep -rl -F ${needles.map((n) => `-e ${n}`).join(' ')} /home /root /tmp /factory /etc /run /var/tmp --exclude=.proc 2>/dev/null | tr "\\n" " ")`,
    'rm -f /tmp/.proc',
  ].join('; ');

async function laneContainer(profile: string): Promise<Docker.Container> {
  // Both jobs' gateways and containers start on the same engine: on a busy 2-core machine that took over 20 s.
  const c = await waitFor(
    `the ${profile} lane container`,
    async () => (await h!.containers(false)).find((c) => c.Labels[LABEL.profile] === profile),
    90_000,
  );
  return docker.getContainer(c.Id);
}

beforeAll(async () => {
  image = await ensureLocalBase(docker);
  world = await startWorld(docker, prefix, image, { 'factory.test': prefix });
  model = await startFakeModelServer();
  standin = new GitHubStandin();
  await standin.start();
  dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  chmodSync(dir, 0o755);
}, 600_000);

/** What of this test's jobs is left on the engine: their containers and gateways, by the test's prefix. */
const leftovers = async () => ({
  containers: (await docker.listContainers({ all: true, filters: { name: [prefix] } })).filter(
    (c) => !c.Names.includes(`/${prefix}-world`),
  ),
  networks: (await docker.listNetworks({ filters: { name: [prefix] } })).filter((n) => n.Name !== `${prefix}-world`),
});

afterEach(async () => {
  await h?.stop();
  h = undefined;
});

afterAll(async () => {
  // A run that failed midway may leave a job's gateway (the controller keeps them for adoption when it stops), which
  // holds the world's network.
  const left = await leftovers();
  for (const c of left.containers) await docker.getContainer(c.Id).remove({ force: true });
  for (const n of left.networks) await docker.getNetwork(n.Id).remove();
  await standin?.stop();
  for (const s of standIns) await s.close();
  await model?.close();
  await world?.remove();
  if (dir && !process.env.LANES_DEBUG) rmSync(dir, { recursive: true, force: true });
});

describe("the example org's brokered lanes behind their egress", () => {
  it('claude and codex complete a run with the host token swapped in by the broker, and hold none of it', async () => {
    // The claude lane's hosted MCP servers, each a loopback stand-in that takes only the host's own credential for it:
    // the host claude's OAuth login (`credential: oauth`) or the host's gh login (`credential: gh`). A server with
    // `credential: none` is asked at an address that reaches nothing from the job (its own loopback).
    const hosted = new Map<string, FakeHostedMcp>();
    for (const s of HOSTED)
      if (s.credential !== 'none')
        hosted.set(s.name!, await startFakeHostedMcp(s.name!, MCP_LOGINS[s.name!]?.access ?? HOST.gh));
    const ghApi = await startFakeGhApi('ali');
    standIns.push(ghApi, ...hosted.values());
    const mcp = HOSTED.map((s) => ({ ...s, url: hosted.get(s.name!)?.url ?? 'http://127.0.0.1:9/mcp' }));
    const logins = hostLogins(Object.fromEntries([...hosted].map(([name, f]) => [name, f.url])));
    const results = { claude: resultsDir('claude'), codex: resultsDir('codex') };
    model.script('anthropic', [{ kind: 'text', text: 'brokered claude behind egress' }]);
    model.script('openai', [{ kind: 'text', text: 'brokered codex behind egress' }]);
    expect(example.profiles.claude!.auth).toBe('broker');
    expect(example.profiles.codex!.auth).toBe('broker');
    h = await startHarness({
      standin,
      ...(process.env.LANES_DEBUG ? { log: createLogger({ level: 'warn', pretty: true, color: false }) } : {}),
      repo: `factory-test/${prefix}`,
      egressDns: [world.ipv4],
      wrapEngine: (engine) => ({
        ...engine,
        run: async (spec) => {
          const id = await engine.run(throughGateway(spec));
          if (process.env.LANES_DEBUG)
            void docker
              .getContainer(id)
              .logs({ follow: true, stdout: true, stderr: true })
              .then((s) =>
                (s as NodeJS.ReadableStream).on('data', (c: Buffer) => process.stderr.write(c.toString('latin1'))),
              );
          return id;
        },
      }),
      config: {
        broker: {
          anthropicUrl: model.url,
          openaiUrl: `${model.url}/v1`,
          chatgptUrl: `${model.url}/v1`,
          githubApiUrl: ghApi.url,
        },
      },
      extraProfiles: {
        claude: exampleLane(
          'claude',
          { kind: 'auth', agent: 'claude', source: logins.claude, claudeJson: logins.claudeJson },
          results.claude,
          CLAUDE_CLI,
          { gh: logins.gh, mcp },
        ),
        codex: exampleLane('codex', { kind: 'auth', agent: 'codex', source: logins.codex }, results.codex, CODEX_CLI, {
          gh: logins.gh,
        }),
      },
    });
    const started = Date.now();
    const jobs = {
      claude: await standin.queueJob(h.repo, example.profiles.claude!.labels as string[]),
      codex: await standin.queueJob(h.repo, example.profiles.codex!.labels as string[]),
    };

    // While each job waits after its run: a shell of the job's user looks through the container. That user, not root:
    // the CLIs ran as it and its files are 0600 in 0700 folders, and root here holds no capability (no
    // DAC_OVERRIDE, no SYS_PTRACE), so it reads neither those files nor another user's /proc/PID/environ.
    const seen: Record<string, string> = {};
    for (const agent of ['claude', 'codex'] as const) {
      const container = await laneContainer(agent);
      const user = (await container.inspect()).Config.User;
      const r = results[agent];
      await waitFor(`the ${agent} run`, () => existsIn(r, 'ran'), 90_000).catch(async (err: Error) => {
        const logs = (await container.logs({ stdout: true, stderr: true })).toString('latin1').slice(-3000);
        throw new Error(`${err.message}\n${logs}\n${JSON.stringify(readdirSync(r))}`);
      });
      const placeholder = JSON.parse(
        (
          await runIn(
            container,
            ['cat', agent === 'claude' ? '/factory/auth/claude/.credentials.json' : '/factory/auth/codex/auth.json'],
            user,
          )
        ).out,
      );
      const token: string =
        agent === 'claude' ? placeholder.claudeAiOauth.accessToken : placeholder.tokens.access_token;
      expect(token).toMatch(/^factory-broker-/);
      seen[agent] = (await runIn(container, ['sh', '-c', LOOK(SECRETS)], user)).out;
      seen[`${agent}-placeholder`] = (await runIn(container, ['sh', '-c', LOOK([token])], user)).out;
      writeFileSync(join(r, 'looked'), '');
    }
    await waitFor(
      'both jobs',
      () => Object.values(jobs).every((id) => standin.jobs.get(id)?.status === 'completed'),
      60_000,
    );
    console.log(`example lanes, brokered behind egress: both queued -> completed in ${Date.now() - started} ms`);
    // Each job's gateway and network go with it.
    await waitFor(
      "the jobs' containers and gateways removed",
      async () => {
        const left = await leftovers();
        return left.containers.length + left.networks.length === 0;
      },
      60_000,
    );

    // Each CLI finished with the model's answer.
    expect(read(results.claude, 'cli.code').trim(), read(results.claude, 'cli.err')).toBe('0');
    expect(JSON.parse(read(results.claude, 'cli.out')).result).toBe('brokered claude behind egress');
    expect(read(results.codex, 'cli.code').trim(), read(results.codex, 'cli.err')).toBe('0');
    expect(read(results.codex, 'last.txt').trim()).toBe('brokered codex behind egress');
    // The model got each request with the host's real access token, swapped in by the broker.
    const anthropic = model.requests.filter((r) => r.api === 'anthropic');
    const openai = model.requests.filter((r) => r.api === 'openai');
    expect(anthropic.length).toBeGreaterThan(0);
    expect(openai.length).toBeGreaterThan(0);
    for (const r of anthropic) expect(r.authorization).toBe(`Bearer ${HOST.claudeAccess}`);
    for (const r of openai) expect(r.authorization).toBe(`Bearer ${HOST.codexAccess}`);
    // Only the host refreshes: no CLI tried.
    expect(model.requests.filter((r) => r.api === 'oauth')).toEqual([]);
    // claude reached every hosted MCP server through its broker, which sent the host's own login for each; gh reached
    // GitHub's API through its socket with the host's gh token. None of them ever saw a placeholder.
    for (const [name, server] of hosted) {
      expect(server.authorizations.length, name).toBeGreaterThan(0);
      expect(new Set(server.authorizations), name).toEqual(new Set([`Bearer ${MCP_LOGINS[name]?.access ?? HOST.gh}`]));
    }
    for (const agent of ['claude', 'codex'] as const) {
      expect(read(results[agent], 'gh.code').trim(), read(results[agent], 'gh.err')).toBe('0');
      expect(read(results[agent], 'gh.out').trim()).toBe('ali');
    }
    expect(ghApi.requests.length).toBeGreaterThanOrEqual(2);
    for (const r of ghApi.requests) expect(r.authorization).toBe(`token ${HOST.gh}`);

    // Inside: none of the host's tokens in any process's environment or command line, or in the files, while the
    // same look finds the placeholder (in the CLI's files), so it was looking in the right places.
    for (const agent of ['claude', 'codex'] as const) {
      expect(seen[agent], agent).toMatch(/^proc 0\nfiles\s*$/);
      expect(seen[`${agent}-placeholder`], agent).toMatch(/files .*\/factory\/auth\//);
    }

    // An unlisted host is refused: the proxy answers 403, and around the proxy its name does not even resolve.
    for (const agent of ['claude', 'codex'] as const) {
      expect(read(results[agent], 'proxied.txt'), agent).toMatch(/403|CONNECT/);
      expect(read(results[agent], 'direct.txt'), agent).toMatch(/resolve/i);
    }
    expect(await world.seen('pastebin')).toEqual([]);
  }, 180_000);
});

const read = (d: string, name: string) => readFileSync(join(d, name), 'utf8');
function existsIn(d: string, name: string): boolean {
  try {
    readFileSync(join(d, name));
    return true;
  } catch {
    return false;
  }
}

/** The controller's log as JSON lines, kept for a field the test needs (the restored broker's port). */
function keptLog() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      done();
    },
  });
  return { lines, log: createLogger({ level: 'info', pretty: false, destination }) };
}

/** Runs `script` in a host-network container of this test: another process on the host, as a thief would be. */
async function onTheHost(script: string): Promise<string> {
  const c = await docker.createContainer({
    Image: image,
    name: `${prefix}-thief`,
    Entrypoint: ['sh', '-c'],
    Cmd: [script],
    Labels: { 'factory.test': prefix },
    HostConfig: { NetworkMode: 'host' },
  });
  try {
    await c.start();
    await c.wait();
    return demux((await c.logs({ stdout: true, stderr: true })) as unknown as Buffer);
  } finally {
    await c.remove({ force: true });
  }
}

const MODEL_BODY = '{"model":"claude-sonnet-4-5","max_tokens":8,"messages":[]}';
const INITIALIZE =
  '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-03-26","capabilities":{},"clientInfo":{"name":"sh","version":"1"}}}';
const waitForFile = (name: string) =>
  `i=0; while [ ! -e /results/${name} ] && [ $i -lt 600 ]; do sleep 0.2; i=$((i+1)); done`;
/**
 * The job asks its model (at its gateway's broker port, as ANTHROPIC_BASE_URL says) and its brokered MCP server (as
 * its rendered entry says) with the placeholder it was given: once before the controller's restart, once after.
 */
const ASK_TWICE =
  awaitReleaseShell([MCP_BROKER_TOKEN_ENV]) +
  [
    'PH=$(sed -n \'s/.*"accessToken":"\\([^"]*\\)".*/\\1/p\' /factory/auth/claude/.credentials.json)',
    'MURL=$(sed -n \'s/.*"url": "\\([^"]*\\/mcp\\/linear\\)".*/\\1/p\' /factory/mcp/claude.json)',
    'echo "$PH" > /results/placeholder.txt',
    'ask() { ' +
      `curl -sS -m 20 -o /results/model-$1.txt -w "%{http_code}" -H "Authorization: Bearer $PH" -H "content-type: application/json" -d '${MODEL_BODY}' "$ANTHROPIC_BASE_URL/v1/messages" > /results/model-$1.code 2>&1; ` +
      `curl -sS -m 20 -o /results/mcp-$1.txt -H "Authorization: Bearer $${MCP_BROKER_TOKEN_ENV}" -H "content-type: application/json" -H "accept: application/json, text/event-stream" -d '${INITIALIZE}' "$MURL" 2> /results/mcp-$1.err; ` +
      'touch /results/asked-$1; }',
    'ask 1',
    waitForFile('go'),
    'ask 2',
    waitForFile('done'),
  ].join('; ');

describe("the example's claude lane across a controller restart", () => {
  it('keeps its model and MCP server through its gateway, for its own container only, until its cleanup', async () => {
    const logins = hostLogins();
    const results = resultsDir('restart');
    const mcpToken = 'lin-api-examplelane-restart';
    const linear = await startFakeHostedMcp('linear', mcpToken);
    const envFile = join(dir, 'lane.env');
    writeFileSync(envFile, `LINEAR_API_KEY=${mcpToken}\n`, { mode: 0o600 });
    const { lines, log } = keptLog();
    const before = model.requests.length;
    try {
      h = await startHarness({
        standin,
        log,
        repo: `factory-test/${prefix}-restart`,
        egressDns: [world.ipv4],
        wrapEngine: (engine) => ({ ...engine, run: (spec) => engine.run(throughGateway(spec)) }),
        config: {
          broker: { anthropicUrl: model.url, openaiUrl: `${model.url}/v1`, chatgptUrl: `${model.url}/v1` },
        },
        extraProfiles: {
          claude: {
            ...exampleLane(
              'claude',
              { kind: 'auth', agent: 'claude', source: logins.claude, claudeJson: logins.claudeJson },
              results,
              '',
            ),
            mcp: [{ name: 'linear', url: linear.url, tokenEnv: 'LINEAR_API_KEY' }],
            envFiles: [envFile],
            env: { STANDIN_JOB_COMMAND: ASK_TWICE },
          },
        },
      });
      const jobId = await standin.queueJob(h.repo, example.profiles.claude!.labels as string[]);
      await waitFor('the ask before the restart', () => existsIn(results, 'asked-1'), 90_000);

      // Stopped as SIGTERM stops it (its brokers close, the job and its gateway run on), then started again: its
      // first reconcile adopts the job, serves the gateway's relays anew and gives the job its broker back.
      const stopped = Date.now();
      await h.restart();
      console.log(`claude lane behind egress: controller restarted, job's broker back, in ${Date.now() - stopped} ms`);
      const restored = lines.filter((l) => l.relayed === true).map((l) => l.port as number);
      expect(restored).toHaveLength(1);
      writeFileSync(join(results, 'go'), '');
      await waitFor('the ask after the restart', () => existsIn(results, 'asked-2'), 30_000);

      for (const n of [1, 2]) {
        expect(read(results, `model-${n}.code`), `model answer ${n}`).toBe('200');
        expect(JSON.parse(read(results, `model-${n}.txt`)).type).toBe('message');
        expect(read(results, `mcp-${n}.txt`), read(results, `mcp-${n}.err`)).toContain('"serverInfo"');
      }
      const asked = model.requests.slice(before).filter((r) => r.api === 'anthropic');
      expect(asked.map((r) => r.authorization)).toEqual([`Bearer ${HOST.claudeAccess}`, `Bearer ${HOST.claudeAccess}`]);
      expect(new Set(linear.authorizations)).toEqual(new Set([`Bearer ${mcpToken}`]));

      // The placeholder taken to another container on the host, straight to the restored broker's port: refused
      // before a byte is read, as before the restart, since only the controller's relay is admitted.
      const placeholder = read(results, 'placeholder.txt').trim();
      expect(placeholder).toMatch(/^factory-broker-/);
      const stolen = await onTheHost(
        `curl -sS -m 10 -o /dev/null -w "%{http_code}" -H "Authorization: Bearer ${placeholder}" -H "content-type: application/json" -d '${MODEL_BODY}' http://127.0.0.1:${restored[0]}/v1/messages`,
      );
      expect(stolen.trim()).toMatch(/reset by peer\n000$/);
      expect(model.requests.slice(before).filter((r) => r.api === 'anthropic')).toHaveLength(2);

      // The adopted job ends: its cleanup takes its gateway and closes the broker it got back.
      writeFileSync(join(results, 'done'), '');
      await waitFor('the adopted job', () => standin.jobs.get(jobId)?.status === 'completed', 30_000);
      await waitFor(
        "the job's container and gateway removed",
        async () => {
          const left = await leftovers();
          return h!.service.controller.snapshot().runners.length + left.containers.length + left.networks.length === 0;
        },
        60_000,
      );
      await expect(fetch(`http://127.0.0.1:${restored[0]}/v1/messages`, { method: 'POST' })).rejects.toThrow();
    } finally {
      await linear.close();
    }
  }, 180_000);
});
