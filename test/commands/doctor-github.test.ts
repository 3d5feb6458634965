// `factory doctor` tells GitHub's failures apart, each with its own fix, and checks the webhook secret.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runDoctor } from '../../controller/commands/doctor.js';
import type { DoctorRow } from '../../controller/commands/doctor-script.js';
import { configSchema } from '../../controller/config/config.js';
import type { Engine } from '../../controller/docker/docker-engine.js';
import { GitHubError, type GitHubApi } from '../../controller/github/github-client.js';
import { FIX, fixFor } from '../../controller/github/github-errors.js';

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

describe('doctor on the route to GitHub', () => {
  const secretEnv = { S: 'x'.repeat(32) };

  it('says GitHub is reached directly when no proxy is set, and shows no CA row without NODE_EXTRA_CA_CERTS', async () => {
    const all = await rows({ env: 'S' }, secretEnv);
    expect(find(all, 'github proxy')).toMatchObject({
      ok: true,
      detail: 'none: GitHub is reached directly (no HTTPS_PROXY or HTTP_PROXY set)',
    });
    expect(all.find((r) => r.name === 'github CA')).toBeUndefined();
  });

  it('fails a NODE_EXTRA_CA_CERTS that cannot be read or holds no certificate', async () => {
    const missing = join(dir, 'no-ca.pem');
    expect(find(await rows({ env: 'S' }, { ...secretEnv, NODE_EXTRA_CA_CERTS: missing }), 'github CA')).toMatchObject({
      ok: false,
      detail: `NODE_EXTRA_CA_CERTS ${missing}: cannot read it (ENOENT)`,
    });
    const empty = join(dir, 'empty-ca.pem');
    writeFileSync(empty, 'not a certificate\n');
    expect(find(await rows({ env: 'S' }, { ...secretEnv, NODE_EXTRA_CA_CERTS: empty }), 'github CA')).toMatchObject({
      ok: false,
      detail: `NODE_EXTRA_CA_CERTS ${empty}: no PEM certificate in it`,
    });
  });

  it('gives an untrusted certificate its own fix, naming NODE_EXTRA_CA_CERTS', () => {
    expect(fixFor('certificate')).toContain('NODE_EXTRA_CA_CERTS');
    expect(fixFor('certificate')).not.toBe(FIX.unreachable);
    expect(fixFor('unauthorised')).toBe(FIX.unauthorised);
  });
});
