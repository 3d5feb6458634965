// The credential lock is keyed by the login (the auth source as the Docker host sees it), not by the profile's
// `credential:` name: two profiles holding one login under two names, or through a symlink, or one beside another
// login, take turns on it, in the scheduler's caps and in the cross-process lock alike.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig, type Config } from '../../controller/config/config.js';
import { slotLimits } from '../../controller/daemon/slot-limits.js';
import { lockCredential, unlockCredential } from '../../controller/lanes/credential-lock.js';

const dir = mkdtempSync(join(tmpdir(), 'factory-credlock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const codexHome = join(dir, 'ali', '.codex');
const claudeHome = join(dir, 'ali', '.claude');
mkdirSync(codexHome, { recursive: true });
mkdirSync(claudeHome, { recursive: true });
symlinkSync(codexHome, join(dir, 'codex-link'));

const lane = (name: string, mounts: string[], extra = '') => `  ${name}:
    trusted: true
    labels: [self-hosted, factory, ${name}]
    image: factory/base:0.1.0
    agentUser: "1001:1001"${extra}
    mounts: [${mounts.join(', ')}]`;
const codex = (source = codexHome) => `{ kind: auth, agent: codex, source: ${source} }`;
const claude = `{ kind: auth, agent: claude, source: ${claudeHome} }`;

function parse(profiles: string[], state = 'state') {
  const result = parseConfig(`github: { auth: { tokenEnv: T }, webhook: { secret: { env: S } } }
stateDir: ${join(dir, state)}
loginCheck: {}
profiles:
${profiles.join('\n')}
repos: [{ repo: o/r, profiles: [${profiles.map((p) => p.trim().split(':')[0]).join(', ')}] }]
`);
  return result;
}
function config(profiles: string[], state: string): Config {
  const result = parse(profiles, state);
  if (!result.ok) throw new Error(result.problems.join('\n'));
  return result.config;
}

describe('the credential lock', () => {
  it('is one lock for two profiles naming one login under different credential names', async () => {
    const c = config(
      [lane('codex', [codex()], '\n    credential: ali-codex'), lane('other', [codex()], '\n    credential: codex-2')],
      'names',
    );
    const first = await lockCredential(c, c.profiles.codex!, { kind: 'job', name: 'factory-r-1-aaaaaa' });
    expect(first).toMatchObject({ held: true });
    const second = await lockCredential(c, c.profiles.other!, { kind: 'lane-run', name: 'factory-lane-b' });
    expect(second).toMatchObject({
      held: false,
      key: `auth:${codexHome}`,
      holders: [{ kind: 'job', name: 'factory-r-1-aaaaaa' }],
    });
    await unlockCredential(c, (first as { file: string }).file);
    expect(await lockCredential(c, c.profiles.other!, { kind: 'lane-run', name: 'factory-lane-b' })).toMatchObject({
      held: true,
    });
  });

  it('is one lock for a login reached through a symlink', async () => {
    const c = config([lane('codex', [codex()]), lane('linked', [codex(join(dir, 'codex-link'))])], 'symlink');
    expect(await lockCredential(c, c.profiles.codex!, { kind: 'job', name: 'factory-r-2-aaaaaa' })).toMatchObject({
      held: true,
    });
    expect(await lockCredential(c, c.profiles.linked!, { kind: 'job', name: 'factory-r-3-aaaaaa' })).toMatchObject({
      held: false,
      key: `auth:${codexHome}`,
    });
  });

  it('a profile holding two logins waits for either, and keeps no place on the free one while it waits', async () => {
    const c = config([lane('codex', [codex()]), lane('claude', [claude]), lane('review', [codex(), claude])], 'two');
    const codexJob = await lockCredential(c, c.profiles.codex!, { kind: 'job', name: 'factory-r-4-aaaaaa' });
    expect(await lockCredential(c, c.profiles.review!, { kind: 'job', name: 'factory-r-5-aaaaaa' })).toMatchObject({
      held: false,
      key: `auth:${codexHome}`,
    });
    // The claude login stays free for the claude lane: the review took no place on it while refused.
    const claudeJob = await lockCredential(c, c.profiles.claude!, { kind: 'job', name: 'factory-r-6-aaaaaa' });
    expect(claudeJob).toMatchObject({ held: true });
    await unlockCredential(c, (codexJob as { file: string }).file);
    await unlockCredential(c, (claudeJob as { file: string }).file);
    const review = await lockCredential(c, c.profiles.review!, { kind: 'job', name: 'factory-r-5-aaaaaa' });
    expect(review).toMatchObject({ held: true });
    expect((review as { file: string }).file.split('\n')).toHaveLength(2);
    expect(await lockCredential(c, c.profiles.claude!, { kind: 'job', name: 'factory-r-7-aaaaaa' })).toMatchObject({
      held: false,
      key: `auth:${claudeHome}`,
    });
  });

  it("counts a job against each of its logins' caps in the scheduler, whatever the profile calls them", () => {
    const c = config(
      [
        lane('codex', [codex()], '\n    credential: ali-codex'),
        lane('review', [codex(), claude], '\n    credential: x'),
      ],
      'slots',
    );
    const pools = (p: string) => slotLimits(c, 'o/r', c.profiles[p]).filter((l) => l.pool.startsWith('credential:'));
    expect(pools('codex')).toEqual([{ pool: `credential:auth:${codexHome}`, max: 1 }]);
    expect(pools('review')).toEqual([
      { pool: `credential:auth:${claudeHome}`, max: 1 },
      { pool: `credential:auth:${codexHome}`, max: 1 },
    ]);
  });
});

describe('validate on profiles that share a login', () => {
  it('warns when they name it differently, naming both and the login', () => {
    const result = parse([
      lane('codex', [codex()], '\n    credential: ali-codex'),
      lane('other', [codex()], '\n    credential: codex-2'),
    ]);
    expect(result.ok && result.warnings).toEqual([
      {
        line: expect.any(Number),
        path: 'profiles.other.credential',
        message: `profiles "codex" (credential ali-codex), "other" (credential codex-2) hold the same login (${codexHome}) under different credential names: they share one lock, keyed by the login, so their jobs take turns on it; give them one name to say so`,
      },
    ]);
  });

  it('refuses two numbers of places for one lock', () => {
    const result = parse([
      lane('codex', [codex()]),
      lane('review', [codex(), claude], '\n    credentialConcurrency: 2'),
    ]);
    expect(!result.ok && result.problems).toEqual([
      `profiles.review.credentialConcurrency: profile "review" holds the login at ${codexHome} with credentialConcurrency 2, profile "codex" holds it with 1: one login is one lock with one number of places; give both the same`,
    ]);
  });
});
