// A brokered job's gh login, with the real gh CLI: the job's gh folder, as the launch and the release make it, holds a
// placeholder and sends gh over the broker's unix socket in that folder; the loopback GitHub API behind the broker
// sees the host's token, never the placeholder. Another job's placeholder, a host that is not GitHub's API and a
// keyring-only login on the host are refused with a message gh prints; once the job ends its socket is gone.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { JobBrokers } from '../../controller/broker/job-brokers.js';
import { parseConfig, type Config } from '../../controller/config/config.js';
import { readBrokerGrant } from '../../controller/lanes/broker-placeholders.js';
import { GH_SOCKET } from '../../controller/lanes/gh-login.js';
import { prepareJobFolder, removeJobFolder } from '../../controller/lanes/job-folder.js';
import { jobDir } from '../../controller/lanes/lane-layout.js';
import { releasedGhDir, releaseJob } from '../../controller/lanes/release.js';
import { startFakeGhApi, type FakeGhApi } from '../support/fake-gh-api.js';
import { claudeLogin } from '../support/lane-homes.js';

const run = promisify(execFile);
const HOST_TOKEN = 'gho_hostRealToken0123456789abcdefABCDEF';
const NEW_TOKEN = 'gho_hostRotatedToken9876543210zyxwvuABCD';

let root: string;
let api: FakeGhApi;
let uploads: FakeGhApi;
let config: Config;
let brokers: JobBrokers;
let ghSource: string;

function writeHostGh(hostsYml: string) {
  writeFileSync(join(ghSource, 'hosts.yml'), hostsYml, { mode: 0o600 });
}

beforeAll(async () => {
  await run('gh', ['--version']).catch(() => {
    throw new Error("gh is missing: scripts/setup-tests (npm test runs it) installs Debian's gh");
  });
  root = mkdtempSync(join(tmpdir(), 'gh-broker-'));
  api = await startFakeGhApi('octocat');
  uploads = await startFakeGhApi('octocat');
  const claude = join(root, 'host', '.claude');
  ghSource = join(root, 'host', 'gh');
  mkdirSync(claude, { recursive: true });
  mkdirSync(ghSource, { recursive: true });
  writeFileSync(join(claude, '.credentials.json'), JSON.stringify(claudeLogin('sk-ant-oat01-x', 'sk-ant-ort01-x')));
  writeFileSync(join(ghSource, 'config.yml'), 'git_protocol: https\naliases:\n  co: pr checkout\n');
  const stateDir = join(root, 'state');
  // The gh mount's target is the job's gh folder itself, so gh on this host reads the path a container would.
  const yaml = (runner: string) =>
    `{ kind: gh, source: ${ghSource}, target: ${join(stateDir, 'jobs', runner, 'gh', '1')} }`;
  const parsed = parseConfig(`
github: { auth: { tokenEnv: T }, webhook: { secret: { env: S } } }
stateDir: ${stateDir}
broker: { githubApiUrl: ${api.url}, githubUploadsUrl: ${uploads.url} }
profiles:
  one:
    trusted: true
    labels: [self-hosted, factory, one]
    image: factory/base:0.1.0
    network: host
    auth: broker
    mounts: [{ kind: auth, agent: claude, source: ${claude} }, ${yaml('runner-1')}]
  two:
    trusted: true
    labels: [self-hosted, factory, two]
    image: factory/base:0.1.0
    network: host
    auth: broker
    mounts: [{ kind: auth, agent: claude, source: ${claude} }, ${yaml('runner-2')}]
repos: [{ repo: o/r, profiles: [one, two] }]
`);
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  config = parsed.config;
  brokers = new JobBrokers(() => config);
  // Two jobs, launched and released as the controller does it.
  for (const [profile, runner] of [
    ['one', 'runner-1'],
    ['two', 'runner-2'],
  ] as const) {
    await prepareJobFolder(config, profile, config.profiles[profile]!, runner, { brokered: true });
    await brokers.start(config.profiles[profile]!, runner);
    await brokers.grant(runner);
    await releaseJob(config, profile, config.profiles[profile]!, runner, { repo: 'o/r', jobId: 1, runId: 1 });
  }
});
afterAll(async () => {
  await brokers.closeAll();
  await api.close();
  await uploads.close();
  rmSync(root, { recursive: true, force: true });
});
afterEach(() => {
  writeHostGh(`github.com:\n    oauth_token: ${HOST_TOKEN}\n    user: octocat\n    git_protocol: https\n`);
  api.requests.length = 0;
});

/** The real gh, as the job runs it: its config folder the job's, no token in its environment. */
const gh = (runner: string, ...args: string[]) => ghWith({}, runner, ...args);

async function ghWith(extra: Record<string, string>, runner: string, ...args: string[]) {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: root, GH_NO_UPDATE_NOTIFIER: '1', NO_COLOR: '1' };
  env.GH_CONFIG_DIR = releasedGhDir(config, runner, 1);
  Object.assign(env, extra);
  const child = run('gh', args, { env, timeout: 20_000 });
  // What git asks its credential helper; other commands read no input.
  child.child.stdin?.end('protocol=https\nhost=github.com\n\n');
  return child.then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (err: { code?: number; stdout?: string; stderr?: string }) => ({
      code: err.code ?? 1,
      stdout: err.stdout ?? '',
      stderr: err.stderr ?? '',
    }),
  );
}

const placeholderOf = async (runner: string) => (await readBrokerGrant(jobDir(config, runner)))!.gh!;

describe("a brokered job's gh", () => {
  beforeAll(() =>
    writeHostGh(`github.com:\n    oauth_token: ${HOST_TOKEN}\n    user: octocat\n    git_protocol: https\n`),
  );

  it('reaches the GitHub API through its socket, which sends the host token and never the placeholder', async () => {
    const user = await gh('runner-1', 'api', '/user');
    expect(user.stderr).toBe('');
    expect(JSON.parse(user.stdout).login).toBe('octocat');
    const runs = await gh('runner-1', 'api', 'repos/o/r/actions/runs/7');
    expect(JSON.parse(runs.stdout).id).toBe(7);
    const view = await gh('runner-1', 'pr', 'view', '1', '-R', 'o/r', '--json', 'number,title');
    expect(JSON.parse(view.stdout)).toEqual({ number: 1, title: 'Amazing new feature' });

    expect(api.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      'GET /user',
      'GET /repos/o/r/actions/runs/7',
      'POST /graphql',
    ]);
    expect(new Set(api.requests.map((r) => r.authorization))).toEqual(new Set([`token ${HOST_TOKEN}`]));
    const placeholder = await placeholderOf('runner-1');
    expect(JSON.stringify(api.requests)).not.toContain(placeholder);
  });

  it("prints the placeholder as its token and its git credential: the job's files hold no host token", async () => {
    const placeholder = await placeholderOf('runner-1');
    expect((await gh('runner-1', 'auth', 'token')).stdout.trim()).toBe(placeholder);
    const credential = await gh('runner-1', 'auth', 'git-credential', 'get');
    expect(credential.stdout).toContain(`password=${placeholder}`);
    const dir = releasedGhDir(config, 'runner-1', 1);
    expect(readdirSync(dir).sort()).toEqual(['config.yml', GH_SOCKET, 'hosts.yml']);
    for (const name of ['config.yml', 'hosts.yml']) expect(readFileSync(join(dir, name), 'utf8')).not.toContain('gho_');
    // The host's own settings came along.
    expect((await gh('runner-1', 'alias', 'list')).stdout).toContain('pr checkout');
  });

  it("passes a token of the job's own (GH_TOKEN) as it is, with nothing of the host's", async () => {
    const result = await ghWith({ GH_TOKEN: 'ghs_jobsOwnActionsToken' }, 'runner-1', 'api', '/user');
    expect(result.stderr).toBe('');
    expect(api.requests.map((r) => r.authorization)).toEqual(['token ghs_jobsOwnActionsToken']);
  });

  it('reads the host token at each request: a new login on the host, in the multi-account form, takes effect at once', async () => {
    writeHostGh(
      `github.com:\n    users:\n        octocat:\n            oauth_token: ${NEW_TOKEN}\n    git_protocol: https\n    user: octocat\n`,
    );
    expect((await gh('runner-1', 'api', '/user')).stderr).toBe('');
    expect(api.requests.map((r) => r.authorization)).toEqual([`token ${NEW_TOKEN}`]);
  });

  it("refuses another job's placeholder, and reaches nothing with it", async () => {
    // runner-2's placeholder, carried into runner-1's gh folder's socket.
    const reply = await overSocket('runner-1', 'api.github.com', await placeholderOf('runner-2'));
    expect(reply.status).toBe(401);
    expect((await overSocket('runner-1', 'api.github.com', 'factory-broker-guessed')).status).toBe(401);
    // Nor does the job's own model placeholder open its gh socket: gh's is its own.
    const model = (await readBrokerGrant(jobDir(config, 'runner-1')))!.token;
    expect((await overSocket('runner-1', 'api.github.com', model)).status).toBe(401);
    expect(api.requests).toEqual([]);
  });

  it('refuses a host that is not GitHub API, and sends uploads to the uploads host', async () => {
    const placeholder = await placeholderOf('runner-1');
    const other = await overSocket('runner-1', 'example.com', placeholder);
    expect(other.status).toBe(403);
    expect(other.body).toContain('api.github.com and uploads.github.com only, not example.com');
    const viaGh = await gh('runner-1', 'api', '--hostname', 'example.com', '/user');
    expect(viaGh.code).not.toBe(0);
    expect(api.requests).toEqual([]);
    await overSocket('runner-1', 'uploads.github.com', placeholder, '/repos/o/r/releases/1/assets?name=a.txt');
    expect(uploads.requests.map((r) => [r.url, r.authorization])).toEqual([
      ['/repos/o/r/releases/1/assets?name=a.txt', `token ${HOST_TOKEN}`],
    ]);
  });

  it('names the fix when the host keeps its gh login in the keyring', async () => {
    writeHostGh('github.com:\n    users:\n        octocat:\n    git_protocol: https\n    user: octocat\n');
    const result = await gh('runner-1', 'api', '/user');
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('gh auth login --insecure-storage');
    expect(api.requests).toEqual([]);
  });

  it('is gone with its job: the socket no longer answers', async () => {
    await brokers.close('runner-2');
    await expect(overSocket('runner-2', 'api.github.com', await placeholderOf('runner-2'))).rejects.toThrow();
    expect((await gh('runner-2', 'api', '/user')).code).not.toBe(0);
    await removeJobFolder(config, 'runner-2');
    expect(api.requests).toEqual([]);
  });
});

/** A raw request over a job's gh socket, as any process in the job could send one. */
function overSocket(
  runner: string,
  host: string,
  token: string,
  path = '/user',
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        socketPath: join(releasedGhDir(config, runner, 1), GH_SOCKET),
        path,
        method: path === '/user' ? 'GET' : 'POST',
        headers: { host, authorization: `token ${token}` },
      },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(path === '/user' ? undefined : 'asset');
  });
}
