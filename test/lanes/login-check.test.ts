// A job cannot move the host to another account through write-back: the file's identity fields are the job's to
// write (it holds the host's own id_token), so the host redeems the refresh token the job left at the provider (a
// loopback stand-in that rotates and names accounts as the real endpoints do) and keeps only what the provider
// issued for the host's account.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256, writeBackCredential } from '../../lane-contract/credential-write-back.js';
import { parseConfig } from '../../controller/config/config.js';
import { claudeAccountIn, providerLoginCheck } from '../../controller/lanes/login-check.js';
import { codexIdToken, startFakeLoginProvider, type FakeLoginProvider } from '../support/fake-login-provider.js';

let provider: FakeLoginProvider;
const dir = mkdtempSync(join(tmpdir(), 'factory-login-check-'));
beforeAll(async () => (provider = await startFakeLoginProvider()));
afterAll(async () => {
  await provider.close();
  rmSync(dir, { recursive: true, force: true });
});
const urls = () => ({ codex: `${provider.url}/codex/oauth/token`, claude: `${provider.url}/claude/v1/oauth/token` });
let n = 0;

/** The host's file and the job's copy, as the release left them; the job then rewrites its copy. */
function files(agent: 'codex' | 'claude', host: unknown, job: unknown) {
  const source = join(dir, `host-${++n}.json`);
  const copy = join(dir, `copy-${n}.json`);
  const hostText = `${JSON.stringify(host, null, 2)}\n`;
  writeFileSync(source, hostText);
  writeFileSync(copy, JSON.stringify(job));
  return { file: { agent, source, copy, sha256: sha256(hostText) }, source };
}
const codexFile = (idToken: string, refreshToken: string) => ({
  OPENAI_API_KEY: null,
  tokens: { id_token: idToken, access_token: 'at', refresh_token: refreshToken, account_id: 'acct-host' },
  last_refresh: '2026-12-01T00:00:00Z',
});
const claudeFile = (refreshToken: string) => ({
  claudeAiOauth: {
    accessToken: 'sk-ant-oat01-old',
    refreshToken,
    expiresAt: 1,
    scopes: ['user:inference', 'user:profile'],
    subscriptionType: 'max',
  },
});

describe('write-back with the provider as the judge of whose login it is', () => {
  const codexCheck = () => providerLoginCheck(urls(), async () => undefined);

  it("writes back a genuine refresh, as the tokens the provider issued the host, not the job's", async () => {
    const hostToken = provider.issue('codex', 'acct-host');
    // The job's CLI refreshed: the provider rotated the host's token and handed the job new ones for the same account.
    const jobToken = provider.issue('codex', 'acct-host');
    const { file, source } = files(
      'codex',
      codexFile(codexIdToken('acct-host'), hostToken),
      codexFile(codexIdToken('acct-host'), jobToken),
    );
    expect(await writeBackCredential(file, { checkLogin: codexCheck() })).toEqual({ source, outcome: 'written' });
    const written = JSON.parse(readFileSync(source, 'utf8')) as { tokens: Record<string, string> };
    expect(written.tokens.refresh_token).toMatch(/^codex-rt-/);
    expect(written.tokens.refresh_token).not.toBe(jobToken); // spent by the host's own redemption
    expect(provider.requests.at(-1)).toMatchObject({
      path: '/codex/oauth/token',
      body: { grant_type: 'refresh_token', refresh_token: jobToken, client_id: 'app_EMoamEEZ73f0CkXaXp7hrann' },
    });
  });

  it("refuses the host's own id_token beside another account's refresh token, and the host file stays", async () => {
    const hostToken = provider.issue('codex', 'acct-host');
    const attackerToken = provider.issue('codex', 'acct-mallory');
    // Every identity field the file holds says acct-host: only the provider knows whose the refresh token is.
    const { file, source } = files(
      'codex',
      codexFile(codexIdToken('acct-host'), hostToken),
      codexFile(codexIdToken('acct-host'), attackerToken),
    );
    const before = readFileSync(source, 'utf8');
    expect(await writeBackCredential(file, { checkLogin: codexCheck() })).toEqual({
      source,
      outcome: 'rejected-other-login',
      detail:
        "the provider says the job's login is ChatGPT account acct-mallory/user-acct-mallory, the host's is acct-host/user-acct-host",
    });
    expect(readFileSync(source, 'utf8')).toBe(before);
  });

  it('refuses a refresh token the provider never issued or already redeemed, failing closed', async () => {
    const hostToken = provider.issue('codex', 'acct-host');
    const { file, source } = files(
      'codex',
      codexFile(codexIdToken('acct-host'), hostToken),
      codexFile(codexIdToken('acct-host'), 'made-up'),
    );
    expect(await writeBackCredential(file, { checkLogin: codexCheck() })).toMatchObject({
      source,
      outcome: 'rejected-other-login',
      detail: expect.stringMatching(/did not redeem the job's refresh token \(HTTP 401: invalid_grant\)$/),
    });
    const down = providerLoginCheck({ codex: 'http://127.0.0.1:1/oauth/token', claude: '' }, async () => undefined);
    const again = files(
      'codex',
      codexFile(codexIdToken('acct-host'), hostToken),
      codexFile(codexIdToken('acct-host'), provider.issue('codex', 'acct-host')),
    );
    expect(await writeBackCredential(again.file, { checkLogin: down })).toMatchObject({
      outcome: 'rejected-other-login',
      detail: expect.stringContaining('could not be asked'),
    });
  });

  it("claude: compares the provider's account with the host's .claude.json, and refuses without one", async () => {
    const hostJson = JSON.stringify({ oauthAccount: { accountUuid: 'acct-host', emailAddress: 'ali@example.com' } });
    const check = providerLoginCheck(urls(), async () => claudeAccountIn(hostJson));
    const genuine = files(
      'claude',
      claudeFile(provider.issue('claude', 'acct-host')),
      claudeFile(provider.issue('claude', 'acct-host')),
    );
    expect(await writeBackCredential(genuine.file, { checkLogin: check })).toMatchObject({ outcome: 'written' });
    const written = JSON.parse(readFileSync(genuine.source, 'utf8')) as { claudeAiOauth: Record<string, unknown> };
    expect(written.claudeAiOauth).toMatchObject({
      subscriptionType: 'max',
      refreshToken: expect.stringMatching(/^claude-rt-/),
    });

    const stolen = files(
      'claude',
      claudeFile(provider.issue('claude', 'acct-host')),
      claudeFile(provider.issue('claude', 'acct-mallory')),
    );
    expect(await writeBackCredential(stolen.file, { checkLogin: check })).toMatchObject({
      outcome: 'rejected-other-login',
      detail: "the provider says the job's login is account acct-mallory, the host's is acct-host",
    });
    const blind = providerLoginCheck(urls(), async () => undefined);
    const unknown = files(
      'claude',
      claudeFile(provider.issue('claude', 'acct-host')),
      claudeFile(provider.issue('claude', 'acct-host')),
    );
    expect(await writeBackCredential(unknown.file, { checkLogin: blind })).toMatchObject({
      outcome: 'rejected-other-login',
      detail: expect.stringContaining('needs claudeJson'),
    });
  });
});

describe('loginCheck in factory.yml', () => {
  const yaml = (extra: string) => `github: { auth: { tokenEnv: T }, webhook: { secret: { env: S } } }
${extra}
profiles:
  codex:
    trusted: true
    labels: [self-hosted, factory, codex]
    image: factory/base:0.1.0
    agentUser: "1001:1001"
    mounts: [{ kind: auth, agent: codex, source: /home/ali/.codex }]
repos: [{ repo: o/r, profiles: [codex] }]
`;

  it('defaults to the real token endpoints, and validate warns when a login is carried without it', () => {
    const on = parseConfig(yaml('loginCheck: {}'));
    expect(on.ok && on.config.loginCheck).toEqual({
      codexTokenUrl: 'https://auth.openai.com/oauth/token',
      claudeTokenUrl: 'https://console.anthropic.com/v1/oauth/token',
    });
    expect(on.ok && on.warnings).toBeUndefined();
    const off = parseConfig(yaml(''));
    expect(off.ok && off.warnings?.map((w) => w.message)).toEqual([
      expect.stringMatching(/^profile "codex" carries a login and loginCheck is not set: .*add loginCheck: \{\}/),
    ]);
  });
});
