import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NotOnLaneError, openPrivateHome, writeBackCredentials } from '../../actions/lane-core/credential-store.js';
import { readLaneEnvironment } from '../../actions/lane-core/lane-environment.js';
import { fakeIdToken } from '../support/fake-model-server.js';
import { writeLaneHomes } from '../support/lane-homes.js';

function lane() {
  const root = mkdtempSync(join(tmpdir(), 'cred-'));
  const homes = writeLaneHomes(join(root, 'lane'), 'http://127.0.0.1:9');
  const env = readLaneEnvironment(
    {
      FACTORY_CODEX_HOME: homes.codexHome,
      FACTORY_CLAUDE_CONFIG_DIR: homes.claudeConfigDir,
      FACTORY_CLAUDE_JSON: homes.claudeJson,
    },
    join(root, 'home'),
  );
  return { root, homes, env };
}
const codexAuth = (access: string, idToken = fakeIdToken()) =>
  JSON.stringify({
    tokens: { id_token: idToken, access_token: access, refresh_token: `r-${access}`, account_id: 'acct-fake' },
    last_refresh: '2026-01-01T00:00:00Z',
  });

describe('credential store', () => {
  it('copies the lane auth into a private home readable by the owner only', async () => {
    const { root, env } = lane();
    const home = await openPrivateHome('claude', env, join(root, 'run'));

    expect(home.env).toEqual({ CLAUDE_CONFIG_DIR: join(root, 'run', 'claude-config') });
    expect(readdirSync(home.dir).sort()).toEqual(['.claude.json', '.credentials.json']);
    expect(statSync(home.dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(home.dir, '.credentials.json')).mode & 0o777).toBe(0o600);
  });

  it('a copy that fails halfway leaves no credentials behind', async () => {
    const { root, env } = lane();
    // The second file of the claude home cannot be written: the credential file before it already was.
    mkdirSync(join(root, 'run', 'claude-config', '.claude.json'), { recursive: true });

    await expect(openPrivateHome('claude', env, join(root, 'run'))).rejects.toThrow(/EISDIR/);
    expect(existsSync(join(root, 'run', 'claude-config'))).toBe(false);
  });

  it('writes a refreshed credential back over the lane copy, atomically and with its mode', async () => {
    const { root, homes, env } = lane();
    const home = await openPrivateHome('codex', env, join(root, 'run'));
    writeFileSync(join(home.dir, 'auth.json'), codexAuth('fresh-access'));

    expect(await writeBackCredentials(home)).toEqual([
      { source: join(homes.codexHome, 'auth.json'), outcome: 'written' },
    ]);
    const host = JSON.parse(readFileSync(join(homes.codexHome, 'auth.json'), 'utf8'));
    expect(host).toEqual({ OPENAI_API_KEY: null, ...JSON.parse(codexAuth('fresh-access')) });
    expect(statSync(join(homes.codexHome, 'auth.json')).mode & 0o777).toBe(0o600);
    expect(readdirSync(homes.codexHome).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('leaves the lane copy alone when the run did not change the credential', async () => {
    const { root, env } = lane();
    const home = await openPrivateHome('codex', env, join(root, 'run'));
    expect((await writeBackCredentials(home))[0]!.outcome).toBe('unchanged');
  });

  it('refuses to write back a credential file that no longer parses as one', async () => {
    const { root, homes, env } = lane();
    const before = readFileSync(join(homes.claudeConfigDir, '.credentials.json'), 'utf8');
    const home = await openPrivateHome('claude', env, join(root, 'run'));
    writeFileSync(join(home.dir, '.credentials.json'), '{"claudeAiOauth":{"accessToken":"half-writ');

    expect((await writeBackCredentials(home))[0]!.outcome).toBe('rejected-shape');
    expect(readFileSync(join(homes.claudeConfigDir, '.credentials.json'), 'utf8')).toBe(before);
  });

  it('refuses to write back credentials of another login than the one copied', async () => {
    const { root, homes, env } = lane();
    const before = readFileSync(join(homes.codexHome, 'auth.json'), 'utf8');
    const home = await openPrivateHome('codex', env, join(root, 'run'));
    const planted = [
      JSON.stringify({ OPENAI_API_KEY: 'sk-proj-someoneelses0123456789abcdef' }),
      JSON.stringify({
        tokens: { ...JSON.parse(before).tokens, account_id: 'acct-someone-else', access_token: 'other-access' },
      }),
    ];

    for (const text of planted) {
      writeFileSync(join(home.dir, 'auth.json'), text);
      expect((await writeBackCredentials(home))[0]!.outcome).toBe('rejected-other-login');
    }
    expect(readFileSync(join(homes.codexHome, 'auth.json'), 'utf8')).toBe(before);
  });

  it('reports a write-back the lane directory refused instead of throwing, and keeps going', async () => {
    const { root, homes, env } = lane();
    const home = await openPrivateHome('codex', env, join(root, 'run'));
    writeFileSync(join(home.dir, 'auth.json'), codexAuth('fresh-access'));
    // A root test process cannot make a directory refuse it, so the writer does.
    const readOnly = async (path: string) => Promise.reject(new Error(`EROFS: read-only file system, open '${path}'`));

    expect(await writeBackCredentials(home, { write: readOnly })).toEqual([
      {
        source: join(homes.codexHome, 'auth.json'),
        outcome: 'write-failed',
        detail: `EROFS: read-only file system, open '${join(homes.codexHome, 'auth.json')}'`,
      },
    ]);
  });

  it('keeps a lane copy that another job refreshed meanwhile', async () => {
    const { root, homes, env } = lane();
    const home = await openPrivateHome('codex', env, join(root, 'run'));
    writeFileSync(join(homes.codexHome, 'auth.json'), codexAuth('other-job'));
    writeFileSync(join(home.dir, 'auth.json'), codexAuth('this-job'));

    expect((await writeBackCredentials(home))[0]!.outcome).toBe('source-changed');
    expect(readFileSync(join(homes.codexHome, 'auth.json'), 'utf8')).toBe(codexAuth('other-job'));
  });

  it('off a lane, names the file it looked for and the runs-on labels', async () => {
    const root = mkdtempSync(join(tmpdir(), 'cred-'));
    const env = readLaneEnvironment({}, join(root, 'home'));
    const attempt = openPrivateHome('claude', env, join(root, 'run'));

    await expect(attempt).rejects.toBeInstanceOf(NotOnLaneError);
    await expect(attempt).rejects.toThrow(
      `no claude credentials at ${join(root, 'home', '.claude', '.credentials.json')} (FACTORY_CLAUDE_CONFIG_DIR is not set, so the home-directory fallback). ` +
        'This job is not on a claude lane: run it with runs-on: [self-hosted, factory, claude]',
    );
  });

  it("on the agent's own lane without its login, says the login is missing, not that the job is on another lane", async () => {
    const root = mkdtempSync(join(tmpdir(), 'cred-'));
    const homes = writeLaneHomes(join(root, 'lane'), 'http://127.0.0.1:9');
    rmSync(join(homes.claudeConfigDir, '.credentials.json'));
    const env = readLaneEnvironment(
      { FACTORY_LANE: 'claude', FACTORY_PROFILE: 'claude', FACTORY_CLAUDE_CONFIG_DIR: homes.claudeConfigDir },
      join(root, 'home'),
    );

    const attempt = openPrivateHome('claude', env, join(root, 'run'));
    await expect(attempt).rejects.toThrow(
      `no claude credentials at ${join(homes.claudeConfigDir, '.credentials.json')} (the lane profile's FACTORY_CLAUDE_CONFIG_DIR). ` +
        "This job is on the claude lane (profile claude), but the lane has no claude login: sign claude in on the host into the profile's auth mount (kind: auth, agent: claude; docs/lanes.md), then check it with factory doctor --profile claude",
    );
    await expect(attempt).rejects.not.toThrow(/not a claude lane/);
  });

  it("on the other agent's lane, says which lane the job is on", async () => {
    const root = mkdtempSync(join(tmpdir(), 'cred-'));
    const homes = writeLaneHomes(join(root, 'lane'), 'http://127.0.0.1:9');
    const env = readLaneEnvironment(
      { FACTORY_LANE: 'claude', FACTORY_PROFILE: 'claude-review', FACTORY_CLAUDE_CONFIG_DIR: homes.claudeConfigDir },
      join(root, 'home'),
    );

    await expect(openPrivateHome('codex', env, join(root, 'run'))).rejects.toThrow(
      'This job is on a claude lane (profile claude-review), not a codex lane: run it with runs-on: [self-hosted, factory, codex]',
    );
  });
});
