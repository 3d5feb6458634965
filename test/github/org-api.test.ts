// The org side of GitHub as the controller calls it, against the loopback stand-in: the org runner routes, the org's
// repos and runner groups (every exchange checked against GitHub's OpenAPI description), the runner-group lookup with
// its located errors, and GitHub's assignment of org jobs to org-level and repo-level runners.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../controller/config/config.js';
import { gitHubClient, type GitHubApi } from '../../controller/github/github-client.js';
import { forgetRunnerGroup, RunnerGroupError, runnerGroupId } from '../../controller/github/runner-groups.js';
import { runnersAt } from '../../controller/github/runner-scope.js';
import { GitHubStandin } from '../../controller/github/standin/github-standin.js';
import { silentLogger } from '../../controller/observe/logger.js';
import { runDoctor } from '../../controller/commands/doctor.js';
import type { Engine } from '../../controller/docker/docker-engine.js';
import { assertExchangesMatchOpenApi, waitFor } from '../support/harness.js';

const ORG = 'acme';
let standin: GitHubStandin | undefined;
let dir: string | undefined;
afterEach(async () => {
  if (standin) assertExchangesMatchOpenApi(standin);
  await standin?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  standin = dir = undefined;
});

// One App key for the file: an RSA key takes a while to make, and no test needs a fresh one.
let appKeys: { publicKey: string; privateKey: string } | undefined;
const appKeyPair = () =>
  (appKeys ??= generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  }));

async function setUp(opts: { app?: boolean; profiles?: Record<string, unknown>; include?: string[] } = {}) {
  const keys = opts.app ? appKeyPair() : undefined;
  const gh = new GitHubStandin(keys ? { app: { id: 777, publicKeyPem: keys.publicKey } } : {});
  standin = gh;
  await gh.start();
  const groups = gh.addOrg(ORG, {
    repos: [{ name: 'api', private: true }, { name: 'site' }, { name: 'tools', private: true }],
    groups: [
      { name: 'picked', visibility: 'selected', selected: ['api'] },
      { name: 'private-only', visibility: 'private' },
    ],
  });
  let auth: Record<string, unknown> = { tokenEnv: 'GH_TOKEN' };
  if (keys) {
    dir = mkdtempSync(join(tmpdir(), 'factory-org-app-'));
    writeFileSync(join(dir, 'app.pem'), keys.privateKey, { mode: 0o600 });
    auth = { appId: 777, privateKeyPath: join(dir, 'app.pem') };
  }
  const config = configSchema.parse({
    github: { apiUrl: gh.url, auth, webhook: { secret: { env: 'S' } } },
    profiles: { ci: { labels: ['self-hosted', 'ci'], image: 'ci' }, ...opts.profiles },
    orgs: [{ name: ORG, include: opts.include ?? ['*'], profiles: ['ci', ...Object.keys(opts.profiles ?? {})] }],
  });
  const api: GitHubApi = await gitHubClient(config, { GH_TOKEN: 'ghp_x' }, silentLogger());
  return { gh, api, groups, config };
}

const jit = (name: string, group = 1) => ({
  name,
  runner_group_id: group,
  labels: ['self-hosted', 'ci'],
  work_folder: '_w',
});

describe('org API against the stand-in', () => {
  it('registers, lists and deletes org runners and reads the org repos and runner groups', async () => {
    const { gh, api, groups } = await setUp();
    const org = runnersAt(api, { kind: 'org', org: ORG });
    const made = await org.register(jit('factory-api-1-abcdef', groups.picked));
    expect((await org.list()).map((r) => [r.id, r.name, r.status])).toEqual([
      [made.runnerId, 'factory-api-1-abcdef', 'offline'],
    ]);
    // An org runner is not the repo's: the repo routes neither list nor delete it.
    expect(await api.listRunners(`${ORG}/api`)).toEqual([]);
    expect(await api.deleteRunner(`${ORG}/api`, made.runnerId)).toBe('gone');
    expect(await org.remove(made.runnerId)).toBe('deleted');
    expect(await org.remove(made.runnerId)).toBe('gone');

    expect(await api.org!.listRepos(ORG)).toEqual([
      { fullName: `${ORG}/api`, private: true, archived: false },
      { fullName: `${ORG}/site`, private: false, archived: false },
      { fullName: `${ORG}/tools`, private: true, archived: false },
    ]);
    expect((await api.org!.listRunnerGroups(ORG)).map((g) => [g.name, g.visibility])).toEqual([
      ['Default', 'all'],
      ['picked', 'selected'],
      ['private-only', 'private'],
    ]);
    expect(await api.org!.listRunnerGroupRepos(ORG, groups.picked!)).toEqual([`${ORG}/api`]);
    expect(gh.exchanges.filter((x) => x.path.startsWith('/orgs/')).length).toBeGreaterThan(6);
  });

  it('finds the App installation of the organisation and calls the org routes with its token', async () => {
    const { gh, api } = await setUp({ app: true });
    await api.org!.listRunners(ORG);
    const routes = gh.exchanges.map((x) => `${x.method} ${x.path} ${x.status}`);
    expect(routes).toEqual([
      `GET /orgs/${ORG}/installation 200`,
      'POST /app/installations/4242/access_tokens 201',
      `GET /orgs/${ORG}/actions/runners 200`,
    ]);
  });

  it('resolves a group name to its id once, and refuses by config path a missing group or one closed to the repo', async () => {
    const { gh, api, groups } = await setUp();
    const req = (group: string, repo: string) => ({ org: ORG, group, repo, path: 'profiles.ci.runnerGroup' });
    expect(await runnerGroupId(api, req('picked', `${ORG}/api`))).toBe(groups.picked);
    expect(await runnerGroupId(api, req('PICKED', `${ORG}/api`))).toBe(groups.picked);
    expect(gh.exchanges.filter((x) => x.path.endsWith('/runner-groups'))).toHaveLength(1);

    await expect(runnerGroupId(api, req('gpu', `${ORG}/api`))).rejects.toThrow(
      new RunnerGroupError(
        `profiles.ci.runnerGroup: runner group "gpu" does not exist in organisation ${ORG} (its groups: Default, picked, private-only)`,
      ),
    );
    await expect(runnerGroupId(api, req('picked', `${ORG}/tools`))).rejects.toThrow(
      `profiles.ci.runnerGroup: runner group "picked" of organisation ${ORG} does not admit ${ORG}/tools: it is open to selected repositories only`,
    );
    await expect(runnerGroupId(api, req('private-only', `${ORG}/site`))).rejects.toThrow(
      `does not admit ${ORG}/site: the repo is public and the group is closed to public repositories`,
    );
    expect(await runnerGroupId(api, req('private-only', `${ORG}/tools`))).toBe(groups['private-only']);
    // A lane's runners carry credentials: only a group open to selected repositories will do.
    await expect(runnerGroupId(api, { ...req('private-only', `${ORG}/tools`), trusted: true })).rejects.toThrow(
      `profiles.ci.runnerGroup: runner group "private-only" of organisation ${ORG} is open to every private repository of the org; a trusted profile's runners carry credentials`,
    );
    expect(await runnerGroupId(api, { ...req('picked', `${ORG}/api`), trusted: true })).toBe(groups.picked);

    // Deleted and made again on GitHub: the JIT call's 404 drops the kept id, and the next lookup finds the new one.
    gh.orgs.get(ORG)!.groups.find((g) => g.name === 'picked')!.id = 9999;
    expect(await runnerGroupId(api, req('picked', `${ORG}/api`))).toBe(groups.picked);
    forgetRunnerGroup(api, ORG, 'Picked');
    expect(await runnerGroupId(api, req('picked', `${ORG}/api`))).toBe(9999);
  });
});

describe('doctor on an org entry', () => {
  it('lists the covered repos and names a runner group that does not exist or does not admit a covered repo', async () => {
    const { api, config } = await setUp({
      include: ['api', 'site'],
      profiles: {
        picked: { labels: ['self-hosted', 'picked'], image: 'ci', runnerGroup: 'picked' },
        gpu: { labels: ['self-hosted', 'gpu'], image: 'ci', runnerGroup: 'gpu' },
      },
    });
    const engine = { ping: () => Promise.reject(new Error('docker is not part of this test')) } as unknown as Engine;
    const rows = await runDoctor({ config, engine, github: api, diskThreshold: 100, env: { S: 'x'.repeat(32) } });
    const row = (name: string) => rows.find((r) => r.name === name);
    expect(row(`github org ${ORG}`)).toMatchObject({
      ok: true,
      detail: `org runner API answers (0 runner(s)); the entry covers 2 repo(s): ${ORG}/api, ${ORG}/site`,
    });
    expect(row(`runner group picked (${ORG})`)).toMatchObject({
      ok: false,
      detail: `profiles.picked.runnerGroup: runner group "picked" of organisation ${ORG} does not admit ${ORG}/site: it is open to selected repositories only, and this is not one (add it to the group on GitHub, or exclude it from the org entry)`,
    });
    expect(rows.filter((r) => r.name.startsWith('github org'))).toHaveLength(1);
    expect(row(`runner group gpu (${ORG})`)).toMatchObject({
      ok: false,
      detail: expect.stringContaining('profiles.gpu.runnerGroup: runner group "gpu" does not exist in organisation'),
    });
  });
});

describe("the stand-in's assignment of org jobs", () => {
  const register = async (gh: GitHubStandin, path: string, name: string, group = 1) => {
    const res = await fetch(`${gh.url}${path}/actions/runners/generate-jitconfig`, {
      method: 'POST',
      headers: { authorization: 'token x', 'content-type': 'application/json' },
      body: JSON.stringify(jit(name, group)),
    });
    return ((await res.json()) as { runner: { id: number } }).runner.id;
  };
  const online = async (gh: GitHubStandin, runnerId: number) =>
    (
      (await (await fetch(`${gh.url}/_standin/runners/${runnerId}/run`, { method: 'POST' })).json()) as {
        job: number | null;
      }
    ).job;

  it('gives the oldest queued job to any idle org runner that covers it, and a repo runner its own repo only', async () => {
    const { gh, groups } = await setUp();
    const siteJob = await gh.queueJob(`${ORG}/site`, ['self-hosted', 'ci']);
    const apiJob = await gh.queueJob(`${ORG}/api`, ['self-hosted', 'ci']);
    const otherOrgJob = await gh.queueJob('elsewhere/api', ['self-hosted', 'ci']);

    // In the `picked` group (api only): skips the older site job.
    expect(await online(gh, await register(gh, `/orgs/${ORG}`, 'picked-runner', groups.picked))).toBe(apiJob);
    // A repo-level runner of site takes site's job; an org runner in Default then finds nothing of its org left.
    expect(await online(gh, await register(gh, `/repos/${ORG}/site`, 'site-runner'))).toBe(siteJob);
    // Its poll is held (as GitHub's broker holds it) instead of answering another org's job; the test waits for it
    // to be held, not for the hold to time out.
    const idle = await register(gh, `/orgs/${ORG}`, 'default-runner');
    const polled = online(gh, idle);
    await waitFor('the org runner idling online', () => gh.runners.get(idle)?.status === 'online');
    expect(gh.runners.get(idle)!.busy).toBe(false);
    expect(gh.jobs.get(otherOrgJob)!.status).toBe('queued');
    // A job queued while the org runner idles goes to it at once, whichever repo of the org it comes from.
    const later = await gh.queueJob(`${ORG}/tools`, ['self-hosted', 'ci']);
    expect(gh.jobs.get(later)).toMatchObject({ status: 'in_progress', runnerId: idle });
    expect(await polled).toBe(later);
  });
});

describe('doctor on an org the credential may not manage', () => {
  it("names the organisation's permission, not the repo's", async () => {
    const { gh, api, config } = await setUp();
    gh.failNext('GET', /^\/orgs\/acme\/actions\/runners$/, 403, {
      body: {
        message: 'You must be an org admin or have the runners and runner groups fine-grained permission.',
        documentation_url: 'https://docs.github.com/rest/actions/self-hosted-runners',
        status: '403',
      },
    });
    const engine = { ping: () => Promise.reject(new Error('docker is not part of this test')) } as unknown as Engine;
    const rows = await runDoctor({ config, engine, github: api, diskThreshold: 100, env: { S: 'x'.repeat(32) } });
    expect(rows.find((r) => r.name === `github org ${ORG}`)).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/^forbidden: GitHub 403 on GET org runners for acme/),
      fix: expect.stringContaining('organisation permission Self-hosted runners: read and write'),
    });
  });
});
