// A secrets mount with `files` hands its lane those files of the folder and no other; without `files` the whole
// folder's top level goes, and validate says so.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig, type Config } from '../../controller/config/config.js';
import { prepareJobFolder } from '../../controller/lanes/job-folder.js';
import { releaseJob, releasedSecretsDir } from '../../controller/lanes/release.js';

const yaml = (mount: string, stateDir = '/var/lib/factory') => `
github: { auth: { tokenEnv: T }, webhook: { secret: { env: S } } }
stateDir: ${stateDir}
loginCheck: {}
profiles:
  claude:
    trusted: true
    labels: [self-hosted, factory, claude]
    image: factory/base:0.1.0
    agentUser: "1001:1001"
    mounts: [${mount}]
repos: [{ repo: o/r, profiles: [claude] }]
`;

describe('a secrets mount in factory.yml', () => {
  it('takes a list of file names and refuses one that leaves the folder, naming the entry', () => {
    const ok = parseConfig(
      yaml('{ kind: secrets, source: /srv/aina-hq/.secrets, files: [clerk-test.env, stripe-test.env] }'),
    );
    expect(ok.ok && ok.config.profiles.claude!.mounts[0]).toEqual({
      kind: 'secrets',
      source: '/srv/aina-hq/.secrets',
      target: '/factory/secrets',
      files: ['clerk-test.env', 'stripe-test.env'],
    });
    expect(ok.ok && ok.warnings).toBeUndefined();

    const bad = parseConfig(yaml('{ kind: secrets, source: /srv/aina-hq/.secrets, files: [a.env, ../../etc/shadow] }'));
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.problems).toEqual([
      'profiles.claude.mounts[0].files[1]: expected a file name inside the secrets folder (no "/"), got "../../etc/shadow"',
    ]);
    const empty = parseConfig(yaml('{ kind: secrets, source: /srv/aina-hq/.secrets, files: [] }'));
    expect(!empty.ok && empty.problems).toEqual([
      'profiles.claude.mounts[0].files: list at least one file, or leave files out',
    ]);
  });

  it('is valid without files, and validate warns that the lane gets the whole folder', () => {
    const whole = parseConfig(yaml('{ kind: secrets, source: /srv/aina-hq/.secrets }'));
    expect(whole.ok && whole.warnings?.map((w) => [w.line, w.path, w.message])).toEqual([
      [
        11,
        'profiles.claude.mounts[0]',
        expect.stringMatching(/^profile "claude" gets every file of \/srv\/aina-hq\/\.secrets: list the ones/),
      ],
    ]);
  });
});

describe('the release of a secrets mount', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

  async function released(files: string | undefined): Promise<string[]> {
    const root = mkdtempSync(join(tmpdir(), 'factory-secret-files-'));
    dirs.push(root);
    const store = join(root, 'secrets');
    mkdirSync(store);
    for (const name of ['clerk-test.env', 'stripe-test.env', 'contabo-root-breakglass.md', 'INDEX.md'])
      writeFileSync(join(store, name), `${name}\n`, { mode: 0o600 });
    mkdirSync(join(store, 'sources'));
    const list = files === undefined ? '' : `, files: [${files}]`;
    const result = parseConfig(yaml(`{ kind: secrets, source: ${store}${list} }`, join(root, 'state')));
    if (!result.ok) throw new Error(result.problems.join('\n'));
    const config: Config = result.config;
    const profile = config.profiles.claude!;
    await prepareJobFolder(config, 'claude', profile, 'runner-1');
    await releaseJob(config, 'claude', profile, 'runner-1', { repo: 'o/r', jobId: 1, runId: 1 });
    return readdirSync(releasedSecretsDir(config, 'runner-1', 0)).sort();
  }

  it('copies only the listed files: an unlisted one, a breakglass note, never reaches the job', async () => {
    expect(await released('clerk-test.env, stripe-test.env')).toEqual(['clerk-test.env', 'stripe-test.env']);
  });

  it('leaves out a listed name that is missing or a folder, as doctor reports', async () => {
    expect(await released('clerk-test.env, gone.env, sources')).toEqual(['clerk-test.env']);
  });

  it('copies every regular file at the top level when files is left out', async () => {
    expect(await released(undefined)).toEqual([
      'INDEX.md',
      'clerk-test.env',
      'contabo-root-breakglass.md',
      'stripe-test.env',
    ]);
  });
});
