// A profile naming a Docker network that does not exist would fail every job at create and leave it queued: the
// controller refuses such a config at start and at reload, naming the profile and the network.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../controller/commands/cli.js';
import { afterEach, expect, it } from 'vitest';
import { GitHubStandin } from '../../controller/github/standin/github-standin.js';
import { startHarness, type Harness } from '../support/harness.js';

const missing = `factory-test-missing-${randomBytes(4).toString('hex')}`;
let h: Harness | undefined;
let standin: GitHubStandin | undefined;
afterEach(async () => {
  await h?.stop();
  await standin?.stop();
  h = standin = undefined;
});

it('refuses to start with a profile whose network Docker does not have', async () => {
  standin = new GitHubStandin();
  await standin.start();
  await expect(startHarness({ standin, profile: { network: missing } })).rejects.toThrow(
    `profiles.ci.network: Docker has no network named "${missing}"`,
  );
});

it('refuses a reload that names a missing network and keeps the running config', async () => {
  h = await startHarness();
  const next = { ...h.config, profiles: { ci: { ...h.config.profiles.ci!, network: missing } } };
  await expect(h.service.reloadConfig(next)).rejects.toThrow(
    `profiles.ci.network: Docker has no network named "${missing}"`,
  );
  expect(await h.service.reloadConfig({ ...h.config, maxConcurrent: 3 })).toEqual([]);
});

it('`factory validate` names the profile and the missing network when Docker answers', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'factory-network-'));
  try {
    const file = join(dir, 'factory.yml');
    writeFileSync(
      file,
      [
        'github: { auth: { tokenEnv: T }, webhook: { secret: { env: S } } }',
        `profiles: { ci: { labels: [self-hosted, ci], image: x, network: ${missing} } }`,
        'repos: [{ repo: org/app, profiles: [ci] }]',
        '',
      ].join('\n'),
    );
    const err: string[] = [];
    const code = await main(['validate', '--config', file], { stdout: () => {}, stderr: (s) => err.push(s) });
    expect(code).toBe(1);
    expect(err.join('\n')).toContain(`profiles.ci.network: Docker has no network named "${missing}"`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
