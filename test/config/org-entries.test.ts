// `orgs:` entries: repo patterns, the refusal of a repo both an org entry and a repo entry serve, and runner groups
// only where GitHub has them.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, type Config } from '../../controller/config/config.js';
import { coveringPattern, matchesGlob } from '../../controller/config/repo-patterns.js';
import { findRepo, matchProfile } from '../../controller/daemon/profile-match.js';
import { main } from '../../controller/commands/cli.js';

const HEAD = `
github:
  auth: { tokenEnv: GH_TOKEN }
  webhook: { secret: { env: WEBHOOK_SECRET } }
profiles:
  ci: { labels: [self-hosted, factory, ci], image: factory/base:1 }
  grouped: { labels: [self-hosted, factory, big], image: factory/base:1, runnerGroup: factory-runners }
`;
const ORG = `
orgs:
  - name: acme
    include: [api-*, web]
    exclude: [api-legacy*]
    profiles: [ci, grouped]
`;

const parsed = (text: string): Config => {
  const r = parseConfig(text);
  if (!r.ok) throw new Error(r.problems.join('\n'));
  return r.config;
};
const problemsOf = (text: string) => {
  const r = parseConfig(text);
  if (r.ok) throw new Error('expected problems');
  return r.problems;
};

describe('repo patterns', () => {
  it('globs on the repo name: * any run, ? one character, the rest literal and case-insensitive', () => {
    expect(matchesGlob('api-billing', 'api-*')).toBe(true);
    expect(matchesGlob('API-Billing', 'api-*')).toBe(true);
    expect(matchesGlob('api', 'api-*')).toBe(false);
    expect(matchesGlob('web1', 'web?')).toBe(true);
    expect(matchesGlob('web12', 'web?')).toBe(false);
    expect(matchesGlob('aXb', 'a.b')).toBe(false); // a dot is a dot
  });

  it('covers repos of its own owner that an include admits and no exclude removes', () => {
    const org = { name: 'acme', include: ['api-*', 'web'], exclude: ['api-legacy*'] };
    expect(coveringPattern(org, 'acme/api-billing')).toBe('api-*');
    expect(coveringPattern(org, 'ACME/web')).toBe('web');
    expect(coveringPattern(org, 'acme/api-legacy-2')).toBeUndefined();
    expect(coveringPattern(org, 'acme/docs')).toBeUndefined();
    expect(coveringPattern(org, 'other/api-billing')).toBeUndefined();
  });
});

describe('orgs in factory.yml', () => {
  it('serves a covered repo from the org entry, with its profiles, and nothing else', () => {
    const config = parsed(HEAD + ORG);
    expect(config.repos).toEqual([]);
    expect(config.orgs[0]).toMatchObject({ name: 'acme', maxConcurrent: 2 });
    expect(findRepo(config, 'acme/api-billing')).toMatchObject({
      repo: 'acme/api-billing',
      profiles: ['ci', 'grouped'],
      org: { name: 'acme' },
    });
    expect(matchProfile(config, 'acme/web', ['self-hosted', 'big'])?.profileName).toBe('grouped');
    expect(findRepo(config, 'acme/api-legacy')).toBeUndefined();
    expect(findRepo(config, 'acme/docs')).toBeUndefined();
    expect(matchProfile(config, 'acme/docs', ['self-hosted', 'ci'])).toBeUndefined();
  });

  it('defaults include to every repo of the org', () => {
    const config = parsed(`${HEAD}orgs:\n  - { name: acme, profiles: [ci] }\n`);
    expect(config.orgs[0]!.include).toEqual(['*']);
    expect(findRepo(config, 'acme/anything')?.org?.name).toBe('acme');
  });

  it('refuses a repo that both a repo entry and an org entry serve, naming both entries', () => {
    const problems = problemsOf(`${HEAD}${ORG}repos:\n  - { repo: acme/api-billing, profiles: [ci] }\n`);
    expect(problems).toEqual([
      'repos[0].repo: acme/api-billing is also covered by orgs[0] (acme, include "api-*"): one entry must serve it; remove repos[0], or add "api-billing" to orgs[0].exclude',
    ]);
  });

  it('keeps a repo entry for an excluded repo of the org', () => {
    const config = parsed(`${HEAD}${ORG}repos:\n  - { repo: acme/api-legacy, profiles: [ci] }\n`);
    expect(findRepo(config, 'acme/api-legacy')).toMatchObject({ repo: 'acme/api-legacy', profiles: ['ci'] });
    expect(findRepo(config, 'acme/api-legacy')?.org).toBeUndefined();
  });

  it('offers a lane to an org entry only through a runner group', () => {
    const lanes = `${HEAD}  lane: { labels: [self-hosted, factory, lane], image: factory/base:1, trusted: true, network: host }
  grouped-lane: { labels: [self-hosted, factory, glane], image: factory/base:1, trusted: true, runnerGroup: lanes }
`;
    expect(problemsOf(`${lanes}orgs:\n  - { name: acme, include: [api-*], profiles: [ci, lane] }\n`)).toEqual([
      'orgs[0].profiles[1]: trusted profile "lane" carries credentials and has no runnerGroup: in the default group GitHub may give its org runners the job of any repo of the org, excluded ones included; set runnerGroup to a group open to selected repositories only',
    ]);
    const ok = parsed(`${lanes}orgs:\n  - { name: acme, include: [api-*], profiles: [ci, grouped-lane] }\n`);
    expect(findRepo(ok, 'acme/api-x')?.profiles).toEqual(['ci', 'grouped-lane']);
  });

  it('refuses a runner group on a repo entry: repo-level runners join no group', () => {
    expect(problemsOf(`${HEAD}repos:\n  - { repo: acme/site, profiles: [ci, grouped] }\n`)).toEqual([
      'repos[0].profiles[1]: profile "grouped" sets runnerGroup "factory-runners", but acme/site is a repo entry and repo-level runners have no runner group; serve it from an orgs entry, or use a profile without runnerGroup',
    ]);
  });

  it('names a bad pattern, an unknown profile, a repeated org and a missing entry by path', () => {
    expect(
      problemsOf(
        `${HEAD}orgs:\n  - { name: acme, include: ["api/*"], profiles: [ci] }\n  - { name: ACME, profiles: [nope] }\n`,
      ),
    ).toEqual([
      'orgs[0].include[0]: expected a glob on the repo name (letters, digits, . _ - and the wildcards * ?), got "api/*"',
      'orgs[1].profiles[0]: unknown profile "nope" (defined: ci, grouped)',
      'orgs[1].name: ACME is already configured at orgs[0]',
    ]);
    expect(problemsOf(HEAD)).toEqual(['repos: configure at least one repo (or an org under orgs)']);
  });
});

describe('factory validate with orgs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'factory-orgs-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses the overlap with the line of the repo entry and both config paths', async () => {
    const file = join(dir, 'overlap.yml');
    writeFileSync(file, `${HEAD}${ORG}repos:\n  - repo: acme/web\n    profiles: [ci]\n`);
    const err: string[] = [];
    const code = await main(['validate', '--config', file], { stdout: () => {}, stderr: (s) => err.push(s) });
    expect(code).toBe(1);
    expect(err.join('\n')).toContain(
      `${file}:15: repos[0].repo: acme/web is also covered by orgs[0] (acme, include "web"): one entry must serve it`,
    );
  });
});
