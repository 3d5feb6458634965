// `factory doctor` tells GitHub's failures apart, each with its own fix, and checks the webhook secret.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runDoctor, type DoctorRow } from '../../controller/commands/doctor.js';
import { configSchema } from '../../controller/config/config.js';
import type { Engine } from '../../controller/docker/docker-engine.js';
import { GitHubError, type GitHubApi } from '../../controller/github/github-client.js';
import { FIX } from '../../controller/github/github-errors.js';

const REPOS = {
  'o/ok': undefined,
  'o/bad-token': 401,
  'o/no-permission': 403,
  'o/hidden': 404,
  'o/limited': 429,
  'o/away': 0,
} as const;
const dir = mkdtempSync(join(tmpdir(), 'factory-doctor-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config = (secret: Record<string, string>) =>
  configSchema.parse({
    github: { auth: { tokenEnv: 'T' }, webhook: { secret } },
    stateDir: dir,
    profiles: { ci: { labels: ['ci'], image: 'ci' } },
    repos: Object.keys(REPOS).map((repo) => ({ repo, profiles: ['ci'] })),
  });

// Docker is down here, so only the host rows run: the profiles' container checks have their own test.
const engine = { ping: () => Promise.reject(new Error('connect ENOENT /var/run/docker.sock')) } as unknown as Engine;
const github = {
  listRunners: async (repo: string) => {
    const status = REPOS[repo as keyof typeof REPOS];
    if (status === undefined) return [];
    throw new GitHubError(status, 'GET runners', repo, status === 0 ? 'ECONNREFUSED (fetch failed)' : 'refused');
  },
} as unknown as GitHubApi;

const rows = async (secret: Record<string, string>, env: NodeJS.ProcessEnv = {}) =>
  runDoctor({ config: config(secret), engine, github, diskThreshold: 100, env });
const find = (all: DoctorRow[], name: string) => all.find((r) => r.name === name)!;

describe('doctor on GitHub', () => {
  it('names each failure by kind with its own fix', async () => {
    const all = await rows({ env: 'S' }, { S: 'x'.repeat(32) });
    expect(find(all, 'github o/ok')).toMatchObject({ ok: true });
    expect(find(all, 'github o/bad-token')).toMatchObject({
      ok: false,
      fix: FIX.unauthorised,
      detail: expect.stringMatching(/^unauthorised: GitHub 401/),
    });
    expect(find(all, 'github o/no-permission')).toMatchObject({ ok: false, fix: FIX.forbidden });
    expect(find(all, 'github o/hidden')).toMatchObject({ ok: false, fix: FIX.forbidden });
    expect(find(all, 'github o/limited')).toMatchObject({ ok: false, fix: FIX.rate_limited });
    expect(find(all, 'github o/away')).toMatchObject({
      ok: false,
      fix: FIX.unreachable,
      detail: expect.stringContaining('ECONNREFUSED'),
    });
    expect(new Set(Object.values(FIX)).size).toBe(4);
  });
});

describe('doctor on the webhook secret', () => {
  it('passes a long secret, and fails one that is missing, short, or in a file every user can read', async () => {
    expect(find(await rows({ env: 'S' }, { S: 'x'.repeat(32) }), 'webhook secret')).toMatchObject({ ok: true });
    expect(find(await rows({ env: 'S' }), 'webhook secret')).toMatchObject({
      ok: false,
      detail: 'github.webhook.secret.env: environment variable S is not set',
    });
    expect(find(await rows({ env: 'S' }, { S: 'hunter2' }), 'webhook secret')).toMatchObject({
      ok: false,
      detail: 'environment variable S holds 7 characters',
    });
    const file = join(dir, 'secret');
    writeFileSync(file, 'y'.repeat(40));
    chmodSync(file, 0o644);
    expect(find(await rows({ file }), 'webhook secret')).toMatchObject({ ok: false, fix: `chmod 0640 ${file}` });
    chmodSync(file, 0o640);
    expect(find(await rows({ file }), 'webhook secret')).toMatchObject({ ok: true });
  });

  it('never prints the secret', async () => {
    const secret = 'not-to-be-printed-' + 'z'.repeat(20);
    expect(JSON.stringify(await rows({ env: 'S' }, { S: secret }))).not.toContain(secret);
  });
});
