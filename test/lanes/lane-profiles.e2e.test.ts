// Lane profiles on the real Docker engine: credentials cross the container boundary as private copies and come
// back only whole and valid; secrets stay read-only; Tier 1 gets none of it; bind sources follow the host path map.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runnerName } from '../../controller/daemon/runner-spec.js';
import { LABEL } from '../../controller/model/runner.js';
import { credentialHolders, lockCredential, unlockCredential } from '../../controller/lanes/credential-lock.js';
import { jobDir } from '../../controller/lanes/lane-layout.js';
import { CI_LABELS, docker, startHarness, waitFor, type Harness } from '../support/harness.js';
import { awaitReleaseShell } from '../support/release-shell.js';
import { codexIdToken, startFakeLoginProvider } from '../support/fake-login-provider.js';

const LANE_LABELS = ['self-hosted', 'factory', 'codex'];
const codexAuth = (token: string) =>
  JSON.stringify({
    OPENAI_API_KEY: null,
    tokens: { id_token: 'id-' + token, access_token: 'at-' + token, refresh_token: 'rt-' + token },
    last_refresh: '2026-11-25T00:00:00Z',
  });

let root: string;
let h: Harness | undefined;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'factory-lane-'));
  chmodSync(root, 0o755);
});
afterEach(async () => {
  await h?.stop();
  h = undefined;
  rmSync(root, { recursive: true, force: true });
});

/** A host home with a codex login, a secrets folder and a results folder the job writes what it saw into. */
function hostFixture() {
  const codexHome = join(root, 'host', '.codex');
  const secrets = join(root, 'host', 'secrets');
  const results = join(root, 'results');
  for (const d of [codexHome, secrets, results]) mkdirSync(d, { recursive: true });
  chmodSync(results, 0o777);
  writeFileSync(join(codexHome, 'auth.json'), codexAuth('original'), { mode: 0o600 });
  writeFileSync(join(codexHome, 'config.toml'), 'model = "gpt-5"\n');
  writeFileSync(join(secrets, 'linear.env'), 'LINEAR_TOKEN=lin_secret_value\n', { mode: 0o644 });
  writeFileSync(join(secrets, 'contabo-root-breakglass.md'), 'root password: not for lanes\n', { mode: 0o600 });
  return { codexHome, secrets, results, stateDir: join(root, 'state') };
}

function laneProfile(f: ReturnType<typeof hostFixture>, jobCommand: string, extra: Record<string, unknown> = {}) {
  return {
    labels: LANE_LABELS,
    trusted: true,
    lane: 'codex',
    mounts: [
      { kind: 'auth', agent: 'codex', source: f.codexHome },
      { kind: 'secrets', source: f.secrets },
      { kind: 'bind', source: f.results, target: '/results', mode: 'rw' },
    ],
    envFiles: [join(f.secrets, 'linear.env')],
    // Like the lane action, the job waits for the release before it looks at its credentials.
    env: { STANDIN_JOB_COMMAND: awaitReleaseShell() + jobCommand },
    ...extra,
  };
}

const finished = (harness: Harness, ids: number[]) => () =>
  ids.every((id) => harness.github.jobs.get(id)?.status === 'completed') &&
  harness.service.controller.snapshot().runners.length === 0;

describe('lane profiles', () => {
  it('gives the lane a private copy of the auth it may refresh, and writes the refresh back to the host', async () => {
    const f = hostFixture();
    const refresh =
      `cat /factory/auth/codex/auth.json > /results/seen.json; ls -ln /factory/auth/codex > /results/ls.txt; ` +
      `printf '%s' '${codexAuth('refreshed')}' > /factory/auth/codex/.auth.tmp && mv /factory/auth/codex/.auth.tmp /factory/auth/codex/auth.json; ` +
      `env | grep -E '^(FACTORY_|LINEAR_TOKEN)' | sort > /results/env.txt; cat /factory/release/env.json > /results/released-env.json; ls -ln /factory/release > /results/release-ls.txt;  touch /factory/secrets/x 2>/results/secrets-write.txt; echo $? >> /results/secrets-write.txt`;
    h = await startHarness({
      repo: 'factory-test/lane-refresh',
      config: { stateDir: f.stateDir },
      profile: laneProfile(f, refresh),
    });
    const jobId = await h.github.queueJob(h.repo, LANE_LABELS);
    await waitFor('the lane job', finished(h, [jobId]));

    expect(JSON.parse(readFileSync(join(f.results, 'seen.json'), 'utf8')).tokens.refresh_token).toBe('rt-original');
    expect(readFileSync(join(f.results, 'ls.txt'), 'utf8')).toMatch(/-rw------- +1 1000 +1000 .* auth\.json/);
    expect(JSON.parse(readFileSync(join(f.codexHome, 'auth.json'), 'utf8')).tokens.refresh_token).toBe('rt-refreshed');
    expect(statSync(join(f.codexHome, 'auth.json')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(f.results, 'env.txt'), 'utf8').split('\n')).toEqual(
      expect.arrayContaining([
        'FACTORY_CODEX_HOME=/factory/auth/codex',
        'FACTORY_LANE=codex',
        'FACTORY_PROFILE=ci',
        'FACTORY_RELEASE_DIR=/factory/release',
        'FACTORY_SECRET_DIRS=/factory/secrets',
        'FACTORY_SECRET_VARS=LINEAR_TOKEN',
      ]),
    );
    // The env-file value is released as a file only the container user reads, never put in the environment.
    expect(readFileSync(join(f.results, 'env.txt'), 'utf8')).not.toContain('lin_secret_value');
    expect(JSON.parse(readFileSync(join(f.results, 'released-env.json'), 'utf8'))).toEqual({
      LINEAR_TOKEN: 'lin_secret_value',
    });
    expect(readFileSync(join(f.results, 'release-ls.txt'), 'utf8')).toMatch(/-rw------- +1 1000 +1000 .* env\.json/);
    expect(readFileSync(join(f.results, 'secrets-write.txt'), 'utf8')).toMatch(/Read-only file system\n1\n$/);
    expect(readdirSync(join(f.stateDir, 'jobs'))).toEqual([]); // the job's private copies are gone
  });

  const anotherAccount = JSON.stringify({
    tokens: { id_token: 'i', access_token: 'a', refresh_token: 'r', account_id: 'someone-else' },
  });
  it.each([
    ['a corrupted file', 'corrupt', `printf '{"tokens": {"access_tok' > /factory/auth/codex/auth.json`],
    ['a valid login of another account', 'swap', `printf '%s' '${anotherAccount}' > /factory/auth/codex/auth.json`],
    // Before the write-back read job files safely, a FIFO hung cleanup for good and /dev/zero was read until ~600 MB.
    ['a FIFO', 'fifo', 'rm /factory/auth/codex/auth.json && mkfifo /factory/auth/codex/auth.json'],
    [
      'a symlink to /dev/zero',
      'zero',
      'rm /factory/auth/codex/auth.json && ln -s /dev/zero /factory/auth/codex/auth.json',
    ],
  ])('keeps the host credential when the job leaves %s, and reports it', async (_what, name, command) => {
    const f = hostFixture();
    h = await startHarness({
      repo: `factory-test/lane-${name}`,
      config: { stateDir: f.stateDir },
      profile: laneProfile(f, command),
    });
    const jobId = await h.github.queueJob(h.repo, LANE_LABELS);
    await waitFor('the lane job', finished(h, [jobId]));

    expect(readFileSync(join(f.codexHome, 'auth.json'), 'utf8')).toBe(codexAuth('original'));
    expect(h.service.controller.snapshot().lastError).toMatch(/credential write-back refused for .*auth\.json/);
    const metrics = await (await fetch(`${h.service.statusUrl}/metrics`)).text();
    const refused = metrics
      .split('\n')
      .filter((l) => l.startsWith('factory_credential_write_backs_total{profile="ci"'))
      .filter((l) => !/outcome="(written|unchanged|source-changed)"/.test(l));
    expect(refused.map((l) => Number(l.split(' ').pop()))).toEqual([1]);
  });

  // As shipped (examples/factory.yml, `factory init`): loginCheck set, the provider a loopback stand-in. The tests
  // above keep it unset, for the fallback path a config without it takes.
  describe('with loginCheck, as the example config ships', () => {
    let provider: Awaited<ReturnType<typeof startFakeLoginProvider>>;
    beforeAll(async () => (provider = await startFakeLoginProvider()));
    afterAll(async () => provider.close());
    const hostLogin = (f: ReturnType<typeof hostFixture>) => {
      const auth = {
        tokens: { id_token: codexIdToken('acct-host'), refresh_token: provider.issue('codex', 'acct-host') },
      };
      writeFileSync(join(f.codexHome, 'auth.json'), JSON.stringify(auth), { mode: 0o600 });
      return auth;
    };
    const leaves = (refreshToken: string) =>
      `printf '%s' '${JSON.stringify({ tokens: { id_token: codexIdToken('acct-host'), refresh_token: refreshToken } })}' > /factory/auth/codex/.t && mv /factory/auth/codex/.t /factory/auth/codex/auth.json`;
    const loginCheck = () => ({
      codexTokenUrl: `${provider.url}/codex/oauth/token`,
      claudeTokenUrl: `${provider.url}/claude/v1/oauth/token`,
    });

    it("writes back the tokens the provider issues for the host's account on the job's refresh", async () => {
      const f = hostFixture();
      hostLogin(f);
      const refreshed = provider.issue('codex', 'acct-host');
      h = await startHarness({
        repo: 'factory-test/lane-login-check',
        config: { stateDir: f.stateDir, loginCheck: loginCheck() },
        profile: laneProfile(f, leaves(refreshed)),
      });
      const jobId = await h.github.queueJob(h.repo, LANE_LABELS);
      await waitFor('the lane job', finished(h, [jobId]));

      const host = JSON.parse(readFileSync(join(f.codexHome, 'auth.json'), 'utf8')) as {
        tokens: { id_token: string; refresh_token: string };
      };
      expect(host.tokens.id_token).toBe(codexIdToken('acct-host'));
      // The provider's answer to the host's own redemption, not the token the job wrote.
      expect(host.tokens.refresh_token).toMatch(/^codex-rt-/);
      expect(host.tokens.refresh_token).not.toBe(refreshed);
    });

    it("keeps the host's login when the job leaves another account's, whatever identity its file claims", async () => {
      const f = hostFixture();
      const before = hostLogin(f);
      h = await startHarness({
        repo: 'factory-test/lane-login-swap',
        config: { stateDir: f.stateDir, loginCheck: loginCheck() },
        profile: laneProfile(f, leaves(provider.issue('codex', 'acct-attacker'))),
      });
      const jobId = await h.github.queueJob(h.repo, LANE_LABELS);
      await waitFor('the lane job', finished(h, [jobId]));

      expect(JSON.parse(readFileSync(join(f.codexHome, 'auth.json'), 'utf8'))).toEqual(before);
      expect(h.service.controller.snapshot().lastError).toMatch(/credential write-back refused for .*auth\.json/);
    });
  });

  it('a restarted controller sweeps a folder holding a FIFO without hanging, and still writes back the others', async () => {
    const f = hostFixture();
    const otherHome = join(root, 'host', 'other-codex');
    mkdirSync(otherHome, { recursive: true });
    writeFileSync(join(otherHome, 'auth.json'), codexAuth('original'), { mode: 0o600 });
    /** A job folder as a controller killed mid-cleanup leaves it: the manifest, and the copy as the job left it. */
    const leftBehind = (runner: string, source: string, leave: (copy: string) => void) => {
      const dir = join(f.stateDir, 'jobs', runner);
      const copy = join(dir, 'auth', 'codex', 'auth.json');
      mkdirSync(join(dir, 'auth', 'codex'), { recursive: true });
      leave(copy);
      const sha256 = createHash('sha256').update(codexAuth('original')).digest('hex');
      writeFileSync(
        join(dir, 'manifest.json'),
        JSON.stringify({ files: [{ agent: 'codex', source, copy, credential: true, sha256 }] }),
      );
    };
    // Runner names of this instance and repo: the sweep leaves other instances' folders alone.
    const instance = `test-sweep-${process.pid}`;
    leftBehind(runnerName('factory-test/lane-sweep', 901, instance), join(f.codexHome, 'auth.json'), (copy) =>
      execFileSync('mkfifo', [copy]),
    );
    leftBehind(runnerName('factory-test/lane-sweep', 902, instance), join(otherHome, 'auth.json'), (copy) =>
      writeFileSync(copy, codexAuth('refreshed')),
    );

    h = await startHarness({
      repo: 'factory-test/lane-sweep',
      config: { stateDir: f.stateDir, instance },
      profile: laneProfile(f, 'true'),
    });

    expect(readdirSync(join(f.stateDir, 'jobs'))).toEqual([]);
    expect(readFileSync(join(f.codexHome, 'auth.json'), 'utf8')).toBe(codexAuth('original'));
    expect(JSON.parse(readFileSync(join(otherHome, 'auth.json'), 'utf8')).tokens.refresh_token).toBe('rt-refreshed');
  });

  it('runs two jobs sharing a credential one after the other', async () => {
    const f = hostFixture();
    h = await startHarness({
      repo: 'factory-test/lane-serial',
      jobSeconds: 1,
      config: { stateDir: f.stateDir },
      profile: laneProfile(f, 'true', { credential: 'codex-ali' }),
    });
    const first = await h.github.queueJob(h.repo, LANE_LABELS);
    const second = await h.github.queueJob(h.repo, LANE_LABELS);
    await waitFor('both lane jobs', finished(h, [first, second]), 30_000);

    const order = h.stages
      .filter((s) => ['credential-wait', 'container-started', 'cleaned'].includes(s.stage))
      .map((s) => `${s.stage}:${s.jobId === first ? 1 : 2}`);
    expect(order).toContain('credential-wait:2');
    expect(order.filter((e) => !e.startsWith('credential-wait'))).toEqual([
      'container-started:1',
      'cleaned:1',
      'container-started:2',
      'cleaned:2',
    ]);
  });

  it('a workflow job whose credential a factory lane run (another process) holds waits at its release, then runs', async () => {
    const f = hostFixture();
    h = await startHarness({
      repo: 'factory-test/lane-vs-run',
      jobSeconds: 1,
      config: { stateDir: f.stateDir },
      profile: laneProfile(f, 'true'),
    });
    const laneRun = 'lane-codex-0badc0de';
    mkdirSync(jobDir(h.config, laneRun), { recursive: true });
    const held = await lockCredential(h.config, h.config.profiles.ci!, { kind: 'lane-run', name: laneRun });
    expect(held).toMatchObject({ held: true });
    const job = await h.github.queueJob(h.repo, LANE_LABELS);
    // The login is taken at the release: the job's runner starts, is verified, and waits there, given nothing.
    await waitFor('the verified job waiting for its login', () =>
      h!.stages.some((s) => s.jobId === job && s.stage === 'credential-wait'),
    );
    expect(h.stages.filter((s) => s.jobId === job).map((s) => s.stage)).not.toContain('released');
    expect((await credentialHolders(h.config)).map((c) => c.holder.name)).toEqual([laneRun]);

    await unlockCredential(h.config, (held as { file: string }).file);
    rmSync(jobDir(h.config, laneRun), { recursive: true, force: true });
    await waitFor('the job to finish', finished(h, [job]), 30_000);
    expect(h.stages.filter((s) => s.jobId === job).map((s) => s.stage)).toContain('released');
    expect((await credentialHolders(h.config)).length).toBe(0);
  });

  it('with the credential limit raised, concurrent refreshes leave one whole valid file on the host', async () => {
    const f = hostFixture();
    const refresh = `t=$(cat /proc/sys/kernel/random/uuid); printf '{"tokens":{"id_token":"i-%s","access_token":"a-%s","refresh_token":"r-%s"}}' $t $t $t > /factory/auth/codex/.n && mv /factory/auth/codex/.n /factory/auth/codex/auth.json`;
    h = await startHarness({
      repo: 'factory-test/lane-parallel',
      jobSeconds: 1,
      config: { stateDir: f.stateDir },
      profile: laneProfile(f, refresh, { credential: 'codex-ali', credentialConcurrency: 3 }),
    });
    const ids = [
      await h.github.queueJob(h.repo, LANE_LABELS),
      await h.github.queueJob(h.repo, LANE_LABELS),
      await h.github.queueJob(h.repo, LANE_LABELS),
    ];
    await waitFor('the three lane jobs', finished(h, ids), 30_000);

    const host = JSON.parse(readFileSync(join(f.codexHome, 'auth.json'), 'utf8'));
    const [, id] = /^i-(.+)$/.exec(host.tokens.id_token)!;
    expect(host.tokens).toEqual({ id_token: `i-${id}`, access_token: `a-${id}`, refresh_token: `r-${id}` });
  });

  it('gives a Tier-1 profile on the same repo no auth, secrets or env files', async () => {
    const f = hostFixture();
    h = await startHarness({
      repo: 'factory-test/lane-tier1',
      jobSeconds: 3,
      config: { stateDir: f.stateDir },
      profile: laneProfile(f, 'true'),
      extraProfiles: {
        plain: {
          labels: CI_LABELS,
          image: 'factory-test/runner:1',
          network: 'host',
          trusted: true,
          env: { CI: 'true' },
        },
      },
    });
    await h.github.queueJob(h.repo, CI_LABELS);
    const [c] = await waitFor('the CI container', async () => {
      const list = await h!.containers(false);
      return list.length ? list : undefined;
    });
    const inspect = await docker.getContainer(c!.Id).inspect();

    expect(inspect.Config.Labels[LABEL.profile]).toBe('plain');
    // Trusted only for host networking: its mounts are its own release folder, read-only and empty of secrets, and
    // the job-started gate that holds the job's first step until the release.
    expect(inspect.Mounts.map((m: { Destination: string; RW: boolean }) => [m.Destination, m.RW]).sort()).toEqual([
      ['/factory/hooks', false],
      ['/factory/release', false],
    ]);
    expect(
      inspect.Config.Env.filter(
        (e: string) => !e.startsWith('PATH=') && !e.startsWith('ACTIONS_RUNNER_INPUT_JITCONFIG='),
      ),
    ).toEqual([
      'CI=true',
      'FACTORY_PROFILE=plain',
      'FACTORY_SANDBOX=container',
      'FACTORY_RELEASE_DIR=/factory/release',
      'ACTIONS_RUNNER_HOOK_JOB_STARTED=/factory/hooks/job-started.sh',
    ]);
  });

  it('translates bind sources through hostPathMap and gives the job a workspace the runner user can write', async () => {
    const f = hostFixture();
    mkdirSync(join(root, 'hostside', 'pkm'), { recursive: true });
    writeFileSync(join(root, 'hostside', 'pkm', 'note.md'), 'remembered');
    const profile = laneProfile(
      f,
      'cat /data/pkm/note.md > /results/pkm.txt; touch /work/ok && echo ws-ok >> /results/pkm.txt',
      {
        mounts: [
          // The controller sees this path under /controller-view; only the host's /hostside one exists.
          { kind: 'data', source: '/controller-view/pkm', target: '/data/pkm' },
          { kind: 'bind', source: f.results, target: '/results', mode: 'rw' },
          { kind: 'workspace', target: '/work' },
        ],
        envFiles: [],
      },
    );
    h = await startHarness({
      repo: 'factory-test/lane-pathmap',
      config: { stateDir: f.stateDir, hostPathMap: [{ from: '/controller-view', to: join(root, 'hostside') }] },
      profile,
    });
    const jobId = await h.github.queueJob(h.repo, LANE_LABELS);
    await waitFor('the lane job', finished(h, [jobId]));

    expect(readFileSync(join(f.results, 'pkm.txt'), 'utf8')).toBe('rememberedws-ok\n');
    expect(readdirSync(join(f.stateDir, 'jobs'))).toEqual([]); // the workspace went with the job
  });

  it('runs a job on a Tier-3 profile shaped like the org connection map, every connection in place and of its secrets only the listed file', async () => {
    const f = hostFixture();
    const claudeHome = join(root, 'host', '.claude');
    const pkm = join(root, 'host', 'PKM');
    mkdirSync(claudeHome, { recursive: true });
    mkdirSync(pkm, { recursive: true });
    writeFileSync(
      join(claudeHome, '.credentials.json'),
      JSON.stringify({ claudeAiOauth: { accessToken: 'a', refreshToken: 'r', expiresAt: 1 } }),
      { mode: 0o600 },
    );
    writeFileSync(join(root, 'host', '.claude.json'), '{"numStartups":1}', { mode: 0o600 });
    writeFileSync(join(pkm, 'pkm.sqlite'), 'notes');
    const see =
      'cd /factory; { find auth mcp -type f | sort; ls /data/pkm /factory/secrets; env | grep ^FACTORY_ | sort; ' +
      'grep -c mcp_servers mcp/codex.toml; grep -o "Bearer [^\\"]*" mcp/claude.json; } > /results/tier3.txt 2>&1';
    const profile = laneProfile(f, see, {
      lane: 'claude',
      credential: 'ali-subscriptions',
      probes: ['http://127.0.0.1:3100/api/health'],
      mounts: [
        { kind: 'auth', agent: 'codex', source: f.codexHome },
        { kind: 'auth', agent: 'claude', source: claudeHome, claudeJson: join(root, 'host', '.claude.json') },
        { kind: 'secrets', source: f.secrets, files: ['linear.env'] },
        { kind: 'data', source: pkm, target: '/data/pkm' },
        { kind: 'workspace' },
        { kind: 'bind', source: f.results, target: '/results', mode: 'rw' },
      ],
      mcp: [
        { name: 'pkm-agent', command: 'uv', args: ['run', 'pkm-agent'] },
        { name: 'codegraph', command: 'codegraph', args: ['serve', '--mcp'] },
        { name: 'playwright', command: 'npx', args: ['@playwright/mcp'] },
        { name: 'github', command: 'github-mcp-server', args: ['stdio'] },
        { name: 'linear', url: 'https://mcp.linear.app/mcp', tokenEnv: 'LINEAR_TOKEN' },
        { name: 'sentry', url: 'https://mcp.sentry.dev/mcp', tokenEnv: 'SENTRY_TOKEN' },
      ],
    });
    h = await startHarness({
      repo: 'factory-test/lane-tier3',
      config: { stateDir: f.stateDir },
      profile: { ...profile, labels: ['self-hosted', 'factory', 'claude'] },
    });
    const jobId = await h.github.queueJob(h.repo, ['self-hosted', 'factory', 'claude']);
    await waitFor('the Tier-3 job', finished(h, [jobId]));

    const seen = readFileSync(join(f.results, 'tier3.txt'), 'utf8').split('\n');
    expect(seen).toEqual(
      expect.arrayContaining([
        'auth/claude/.claude.json',
        'auth/claude/.credentials.json',
        'auth/codex/auth.json',
        'auth/codex/config.toml',
        'mcp/claude.json',
        'mcp/codex.toml',
        'pkm.sqlite',
        'linear.env',
        'FACTORY_CLAUDE_CONFIG_DIR=/factory/auth/claude',
        'FACTORY_CLAUDE_JSON=/factory/auth/claude/.claude.json',
        'FACTORY_CODEX_HOME=/factory/auth/codex',
        'FACTORY_LANE=claude',
        'FACTORY_MCP_CLAUDE=/factory/mcp/claude.json',
        'FACTORY_MCP_CODEX=/factory/mcp/codex.toml',
        '6',
        'Bearer ${LINEAR_TOKEN}',
        'Bearer ${SENTRY_TOKEN}',
      ]),
    );
    // The secrets mount lists linear.env alone: the store's other file never reaches the container.
    expect(seen).not.toContain('contabo-root-breakglass.md');
  });
});
