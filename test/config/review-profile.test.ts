// A lane's agent runs as its own user by default: the shipped configs set agentUser on every lane profile, validate
// warns on a lane profile without one and refuses a review-style profile (trusted, labelled `review`: the label the
// review workflows ask for, so pull-request content steers its agent) without one.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig, type Config } from '../../controller/config/config.js';
import { isReviewProfile } from '../../controller/config/review-profile.js';
import { starterConfig } from '../../controller/config/starter-config.js';
import { laneMounts } from '../../controller/lanes/lane-layout.js';

const root = join(import.meta.dirname, '../..');

const file = (profile: string) => `github: { auth: { tokenEnv: T }, webhook: { secret: { env: S } } }
loginCheck: {}
profiles:
  ci: { labels: [self-hosted, factory, ci], image: i }
${profile}
repos: [{ repo: o/r, profiles: [ci, lane] }]
`;
const lane = (labels: string, extra = '') => `  lane:
    trusted: true
    labels: [${labels}]
    image: factory/base:0.1.0
    mounts: [{ kind: auth, agent: claude, source: /home/ali/.claude }]${extra}`;

async function example(): Promise<Config> {
  const result = parseConfig(await readFile(join(root, 'examples/factory.yml'), 'utf8'), 'examples/factory.yml');
  if (!result.ok) throw new Error(result.problems.join('\n'));
  expect(result.warnings).toBeUndefined();
  return result.config;
}

describe('a lane profile without an agent user', () => {
  it('is valid, with a warning that names the profile, its line and the fix', () => {
    const result = parseConfig(file(lane('self-hosted, factory, claude')));
    expect(result).toMatchObject({
      ok: true,
      warnings: [
        {
          line: 5,
          path: 'profiles.lane',
          message: expect.stringMatching(/^lane profile "lane" has no agentUser: .*set agentUser/),
        },
      ],
    });
  });

  it('is refused when it is labelled review, since pull-request content steers its agent', () => {
    const result = parseConfig(file(lane('self-hosted, factory, Review')));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problems).toEqual([
      expect.stringMatching(
        /^profiles\.lane\.agentUser: profile "lane" is labelled "review", so it runs pull-request content .* set agentUser/,
      ),
    ]);
  });

  it('with an agent user, neither warning nor refusal', () => {
    const extra = '\n    agentUser: "1001:1001"';
    for (const labels of ['self-hosted, factory, claude', 'self-hosted, factory, review']) {
      const result = parseConfig(file(lane(labels, extra)));
      expect(result.ok && result.warnings).toBeUndefined();
    }
  });

  it('is refused again at launch, so an edit that skipped validate starts no review runner', () => {
    const ok = parseConfig(file(lane('self-hosted, factory, review', '\n    agentUser: "1001:1001"')));
    if (!ok.ok) throw new Error(ok.problems.join('\n'));
    const { agentUser: _dropped, ...profile } = ok.config.profiles.lane!;
    expect(() => laneMounts(ok.config, 'lane', profile, 'o/r', 'factory-r-1-abc123')).toThrow(
      /profiles\.lane\.agentUser: profile "lane" is labelled "review"/,
    );
  });

  it('review-style means trusted and labelled review: a Tier-1 profile with that label is not one', () => {
    const result = parseConfig(file('  lane: { labels: [self-hosted, factory, review], image: i }'));
    if (!result.ok) throw new Error(result.problems.join('\n'));
    expect(isReviewProfile(result.config.profiles.lane!)).toBe(false);
  });
});

describe('the configs we ship', () => {
  it('examples/factory.yml gives every lane profile an agent user and validates without a warning', async () => {
    const config = await example();
    const lanes = Object.entries(config.profiles).filter(([, p]) => p.trusted);
    expect(lanes.map(([n]) => n)).toEqual(['codex', 'claude', 'review']);
    for (const [, p] of lanes) expect(p.agentUser).toBe('1001:1001');
  });

  it('ships a review profile on the labels the review workflows ask for, holding the two logins and nothing else', async () => {
    const config = await example();
    const review = config.profiles.review!;
    expect(isReviewProfile(review)).toBe(true);
    expect(review).toMatchObject({
      trusted: true,
      labels: ['self-hosted', 'factory', 'review'],
      network: 'bridge',
      envFiles: [],
      mcp: [],
      capAdd: [],
      agentUser: '1001:1001',
    });
    expect(review.lane).toBeUndefined();
    expect(review.mounts.map((m) => (m.kind === 'auth' ? `auth:${m.agent}` : m.kind))).toEqual([
      'auth:codex',
      'auth:claude',
      'workspace',
    ]);
    // Every repo can run a second opinion: each lists it.
    for (const repo of config.repos) expect(repo.profiles).toContain('review');
  });

  it('the workflows that default to the review labels find a profile for them', async () => {
    const config = await example();
    for (const workflow of ['workflows/agent-lane.yml', 'workflows/second-opinion.yml']) {
      const text = await readFile(join(root, workflow), 'utf8');
      expect(text).toContain('"self-hosted","factory","review"');
    }
    const served = Object.values(config.profiles).filter((p) =>
      ['self-hosted', 'factory', 'review'].every((l) => p.labels.includes(l)),
    );
    expect(served).toHaveLength(1);
  });

  it("factory init's commented lane profile, uncommented, has an agent user and no warning", () => {
    const text = starterConfig('/s.json');
    const [start, end] = [text.indexOf('  # codex:'), text.indexOf('\nrepos:')];
    const uncommented =
      text.slice(0, start) +
      text.slice(start, end).replace(/^ {2}# /gm, '  ') +
      text.slice(end).replace('profiles: [ci]', 'profiles: [ci, codex]');
    const result = parseConfig(uncommented);
    if (!result.ok) throw new Error(result.problems.join('\n'));
    expect(result.config.profiles.codex!.agentUser).toBe('1001:1001');
    expect(result.warnings).toBeUndefined();
    // Behind egress, on bridge: the runner's GitHub hosts and codex's model API and login, nothing else.
    const { network, egress } = result.config.profiles.codex!;
    expect(network).toBe('bridge');
    expect(egress!.allow.map((r) => r.host)).toEqual([
      'github.com',
      'api.github.com',
      'codeload.github.com',
      '*.actions.githubusercontent.com',
      'api.openai.com',
      'chatgpt.com',
      'auth.openai.com',
    ]);
    expect(egress!.loopback).toEqual([]);
  });
});
