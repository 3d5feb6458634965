// `factory doctor` reads each repo's workflows through GitHub's contents API (the stand-in serves it in GitHub's
// shapes) and warns when a job with services: or container: runs on a profile without its own Docker engine.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDoctor, runDoctor } from '../../controller/commands/doctor.js';
import { configSchema } from '../../controller/config/config.js';
import type { Engine } from '../../controller/docker/docker-engine.js';
import { gitHubClient } from '../../controller/github/github-client.js';
import { GitHubStandin } from '../../controller/github/standin/github-standin.js';
import { silentLogger } from '../../controller/observe/logger.js';
import { assertExchangesMatchOpenApi } from '../support/harness.js';

const dir = mkdtempSync(join(tmpdir(), 'factory-doctor-wf-'));
const github = new GitHubStandin();
beforeAll(() => github.start());
afterAll(async () => {
  await github.stop();
  rmSync(dir, { recursive: true, force: true });
});

const repo = `o/app-${randomBytes(3).toString('hex')}`;
const config = configSchema.parse({
  github: { apiUrl: 'http://127.0.0.1:1', auth: { tokenEnv: 'T' }, webhook: { secret: { env: 'S' } } },
  stateDir: dir,
  profiles: {
    ci: { labels: ['self-hosted', 'factory', 'ci'], image: 'ci' },
    docker: { labels: ['self-hosted', 'factory', 'docker'], image: 'ci', docker: { sidecar: true } },
  },
  repos: [
    { repo, profiles: ['ci', 'docker'] },
    { repo: 'o/empty', profiles: ['ci'] },
  ],
});
// Docker is down here, so only the host and repo rows run.
const engine = { ping: () => Promise.reject(new Error('connect ENOENT /var/run/docker.sock')) } as unknown as Engine;

const WORKFLOW = `
on: pull_request
jobs:
  test:
    runs-on: [self-hosted, factory, ci]
    services:
      postgres:
        image: postgres:16
        ports: ["5432:5432"]
    steps: [{ run: pnpm test }]
  image:
    runs-on: [self-hosted, factory, docker]
    container: node:20
    steps: [{ run: docker build . }]
  lint:
    runs-on: [self-hosted, factory, ci]
    steps: [{ run: pnpm lint }]
  hosted:
    runs-on: ubuntu-latest
    services: { redis: { image: redis } }
    steps: [{ run: true }]
`;

describe('doctor on workflows that need Docker', () => {
  it('warns for a services: job on a profile without its own engine, names the fix, and fails nothing', async () => {
    github.setFile(repo, '.github/workflows/ci.yml', WORKFLOW);
    github.setFile(repo, '.github/workflows/README.md', 'not a workflow');
    const client = await gitHubClient(
      { ...config, github: { ...config.github, apiUrl: github.url } },
      { T: 'ghs_token', S: 'x'.repeat(32) },
      silentLogger(),
    );

    const rows = await runDoctor({ config, engine, github: client, diskThreshold: 100, env: { S: 'x'.repeat(32) } });

    const mine = rows.filter((r) => r.scope === repo);
    expect(mine).toEqual([
      {
        scope: repo,
        name: 'workflow .github/workflows/ci.yml',
        ok: true,
        warning: true,
        detail: 'job test uses services: on profile "ci", which has no Docker engine: the job will fail',
        fix: 'add docker: { sidecar: true } to profiles.ci (docs/job-docker.md), or run the job on a profile that has it',
      },
    ]);
    expect(rows.find((r) => r.scope === 'o/empty')).toMatchObject({ ok: true, name: 'workflows' });
    expect(formatDoctor(mine)).toContain('! ');
    expect(formatDoctor(mine)).toContain('all 1 checks passed, 1 warning(s)');
    expect(github.exchanges.some((x) => x.path === `/repos/${repo}/contents/.github%2Fworkflows%2Fci.yml`)).toBe(true);
    assertExchangesMatchOpenApi(github);
  });
});

describe('doctor on the labels jobs ask for', () => {
  const app = `o/labels-${randomBytes(3).toString('hex')}`;
  const factory = 'ainative-academy/factory';
  const laneProfile = (labels: string[]) => ({
    labels,
    image: 'factory/base:0.1.0',
    trusted: true,
    agentUser: '1001:1001',
    mounts: [{ kind: 'auth', agent: 'codex', source: '/home/ali/.codex' }],
  });
  const configWith = (profiles: Record<string, unknown>) =>
    configSchema.parse({
      github: { apiUrl: github.url, auth: { tokenEnv: 'T' }, webhook: { secret: { env: 'S' } } },
      stateDir: dir,
      profiles: { ci: { labels: ['self-hosted', 'factory', 'ci'], image: 'ci' }, ...profiles },
      repos: [{ repo: app, profiles: ['ci', ...Object.keys(profiles)] }],
    });
  const CALLERS = `
on: [pull_request, workflow_dispatch]
jobs:
  second-opinion:
    uses: ${factory}/.github/workflows/second-opinion.yml@v1
    with: { default-agent: codex, pr-number: "\${{ inputs.pr-number }}" }
  review:
    uses: ${factory}/.github/workflows/agent-lane.yml@v1
    with: { agent: claude, prompt: review it }
  build:
    uses: ${factory}/.github/workflows/agent-lane.yml@v1
    with: { agent: claude, mode: build, prompt: fix it }
  gpu:
    runs-on: [self-hosted, factory, gpu]
    steps: [{ run: nvidia-smi }]
  lint:
    runs-on: [self-hosted, factory, ci]
    steps: [{ run: pnpm lint }]
  matrix:
    strategy: { matrix: { os: [a, b] } }
    runs-on: \${{ matrix.os }}
    steps: [{ run: true }]
  hosted:
    runs-on: ubuntu-latest
    steps: [{ run: true }]
  gone:
    uses: ${factory}/.github/workflows/second-opinion.yml@v9
`;

  async function doctorRows(config: ReturnType<typeof configWith>) {
    const client = await gitHubClient(config, { T: 'ghs_token', S: 'x'.repeat(32) }, silentLogger());
    const rows = await runDoctor({ config, engine, github: client, diskThreshold: 100, env: { S: 'x'.repeat(32) } });
    return rows.filter((r) => r.scope === app);
  }

  beforeAll(async () => {
    const { readFile } = await import('node:fs/promises');
    const root = join(import.meta.dirname, '../..');
    for (const name of ['second-opinion.yml', 'agent-lane.yml'])
      github.setFile(factory, `.github/workflows/${name}`, await readFile(join(root, 'workflows', name), 'utf8'), 'v1');
    github.setFile(app, '.github/workflows/agents.yml', CALLERS);
  });

  it("lists each label set no profile serves, the reusable workflows' defaults included, with where each is asked for", async () => {
    const rows = await doctorRows(configWith({ claude: laneProfile(['self-hosted', 'factory', 'claude']) }));

    const byName = Object.fromEntries(rows.map((r) => [r.name, r]));
    expect(Object.keys(byName).sort()).toEqual([
      'runs-on [self-hosted, factory, gpu]',
      'runs-on [self-hosted, factory, review]',
      'workflow .github/workflows/agents.yml',
      'workflows',
    ]);
    expect(byName['runs-on [self-hosted, factory, review]']).toMatchObject({
      ok: true,
      warning: true,
      detail:
        'no profile of this repo serves it, so these jobs wait for a runner forever: ' +
        `.github/workflows/agents.yml job second-opinion → ${factory}/.github/workflows/second-opinion.yml@v1 job review; ` +
        `.github/workflows/agents.yml job review → ${factory}/.github/workflows/agent-lane.yml@v1 job lane`,
    });
    expect(byName['runs-on [self-hosted, factory, gpu]']!.detail).toMatch(/agents\.yml job gpu$/);
    expect(byName['workflow .github/workflows/agents.yml']!.detail).toBe(
      `job gone calls ${factory}/.github/workflows/second-opinion.yml@v9, which was not found: the labels its jobs ask for are not checked`,
    );
    // The build job's claude lane is served; the matrix job only its run can tell; ubuntu-latest is GitHub's.
    expect(rows.map((r) => r.detail).join('\n')).not.toMatch(/job build|job matrix|job hosted|job lint/);
    expect(
      github.exchanges.some((x) =>
        x.path.startsWith(`/repos/${factory}/contents/.github%2Fworkflows%2Fagent-lane.yml`),
      ),
    ).toBe(true);
    assertExchangesMatchOpenApi(github);
  });

  it('says nothing of the review labels once the review profile of the example serves them', async () => {
    const rows = await doctorRows(
      configWith({
        claude: laneProfile(['self-hosted', 'factory', 'claude']),
        review: laneProfile(['self-hosted', 'factory', 'review']),
      }),
    );
    expect(rows.map((r) => r.name)).not.toContain('runs-on [self-hosted, factory, review]');
    expect(rows.map((r) => r.name)).toContain('runs-on [self-hosted, factory, gpu]');
  });
});
