import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isRefreshOf } from '../../lane-contract/credential-shape.js';
import { sha256, writeBackCredential, type CopiedCredential } from '../../lane-contract/credential-write-back.js';
import { readJobFile } from '../../lane-contract/job-file.js';
import { fakeIdToken } from '../support/fake-model-server.js';

const jwt = (claims: object) => ['e30', Buffer.from(JSON.stringify(claims)).toString('base64url'), 'sig'].join('.');
const idToken = (sub: string, email: string) =>
  jwt({
    sub,
    email,
    'https://api.openai.com/auth': { chatgpt_account_id: 'acct-team', chatgpt_user_id: sub, chatgpt_plan_type: 'team' },
  });
const codex = (access: string, id = idToken('user-ali', 'ali@example.com')) =>
  JSON.stringify({
    OPENAI_API_KEY: null,
    tokens: { id_token: id, access_token: access, refresh_token: `r-${access}`, account_id: 'acct-team' },
    last_refresh: '2026-11-01T00:00:00Z',
  });
const claude = (access: string, oauth: object = {}) =>
  JSON.stringify({
    claudeAiOauth: {
      accessToken: access,
      refreshToken: `r-${access}`,
      expiresAt: 1,
      scopes: ['user:inference', 'user:profile'],
      subscriptionType: 'max',
      ...oauth,
    },
  });

/** A host credential and the job's copy of it, as the controller's job folder or the action's private home has them. */
function copied(agent: 'codex' | 'claude', host: string): CopiedCredential & { dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'write-back-'));
  const source = join(dir, 'host.json');
  const copy = join(dir, 'copy.json');
  writeFileSync(source, host, { mode: 0o600 });
  writeFileSync(copy, host, { mode: 0o600 });
  return { agent, source, copy, sha256: sha256(host), dir };
}

describe('credential write-back', () => {
  it('merges a refresh into the host file and keeps the keys only the host has', async () => {
    const host = JSON.stringify({
      ...JSON.parse(claude('old')),
      mcpOAuth: { linear: { accessToken: 'host-only-token' } },
    });
    const f = copied('claude', host);
    writeFileSync(f.copy, JSON.stringify({ ...JSON.parse(claude('new')), planted: 'by the job' }));

    expect(await writeBackCredential(f)).toEqual({ source: f.source, outcome: 'written' });
    const written = JSON.parse(readFileSync(f.source, 'utf8'));
    expect(written.claudeAiOauth.accessToken).toBe('new');
    expect(written.mcpOAuth).toEqual({ linear: { accessToken: 'host-only-token' } });
    expect(written.planted).toBeUndefined();
  });

  it.each([
    [
      'a claude login with other scopes',
      'claude',
      claude('old'),
      claude('new', { scopes: ['user:inference', 'org:create_api_key'] }),
    ],
    ['a claude login on another subscription', 'claude', claude('old'), claude('new', { subscriptionType: 'pro' })],
    [
      'a codex login of another user on the same account',
      'codex',
      codex('old'),
      codex('new', idToken('user-mallory', 'mallory@example.com')),
    ],
    [
      'a codex API key in place of the ChatGPT login',
      'codex',
      codex('old'),
      JSON.stringify({ OPENAI_API_KEY: 'sk-proj-mallory0123456789abcdef' }),
    ],
  ] as const)('refuses %s and leaves the host file as it was', async (_what, agent, host, planted) => {
    const f = copied(agent, host);
    writeFileSync(f.copy, planted);

    expect((await writeBackCredential(f)).outcome).toBe('rejected-other-login');
    expect(readFileSync(f.source, 'utf8')).toBe(host);
  });

  it('takes a codex refresh whose id_token carries the same claims', () => {
    expect(isRefreshOf('codex', codex('old', fakeIdToken()), codex('new', fakeIdToken()))).toBe(true);
  });

  it('a FIFO in place of the copy returns at once as unsafe', async () => {
    const f = copied('codex', codex('old'));
    execFileSync('rm', [f.copy]);
    execFileSync('mkfifo', [f.copy]);

    expect(await writeBackCredential(f, { timeoutMs: 60_000 })).toEqual({
      source: f.source,
      outcome: 'unsafe',
      detail: `${f.copy} is a FIFO, not a regular file`,
    });
    expect(readFileSync(f.source, 'utf8')).toBe(codex('old'));
  });

  it('a symlink to /dev/zero or to a host file is not followed', async () => {
    const f = copied('codex', codex('old'));
    execFileSync('rm', [f.copy]);
    symlinkSync('/dev/zero', f.copy);

    expect(await writeBackCredential(f)).toMatchObject({
      outcome: 'unsafe',
      detail: `${f.copy} is a symlink, not a regular file`,
    });
    expect(await readJobFile(f.copy)).toEqual({ kind: 'unsafe', reason: `${f.copy} is a symlink, not a regular file` });
  });

  it('a copy over the size cap is not read', async () => {
    const f = copied('claude', claude('old'));
    truncateSync(f.copy, 2 * 1024 * 1024 * 1024); // sparse: 2 GiB on paper, no disk

    expect(await writeBackCredential(f)).toMatchObject({
      outcome: 'unsafe',
      detail: expect.stringMatching(/over the 1048576-byte limit/),
    });
  });

  it('gives up at its deadline when the host file stays locked', async () => {
    const f = copied('codex', codex('old'));
    writeFileSync(f.copy, codex('new'));
    writeFileSync(`${f.source}.lock`, 'another writer');

    expect(await writeBackCredential(f, { timeoutMs: 300 })).toMatchObject({ outcome: 'timed-out' });
    expect(readFileSync(f.source, 'utf8')).toBe(codex('old'));
  });
});
