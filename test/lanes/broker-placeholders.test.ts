import { describe, expect, it } from 'vitest';
import { brokeredCodexConfig, NO_REFRESH, placeholderFiles } from '../../controller/lanes/broker-placeholders.js';
import { hostLogin } from '../../controller/lanes/host-login.js';
import { codexIdToken } from '../support/fake-login-provider.js';
import { claudeLogin } from '../support/lane-homes.js';

const grant = { token: 'factory-broker-abc', url: 'http://127.0.0.1:4000' };
const secretsIn = (files: Record<string, string>, secrets: string[]) =>
  secrets.filter((s) => Object.values(files).some((t) => t.includes(s)));

describe('placeholder files', () => {
  it("carry none of a claude subscription login's tokens and point claude at the broker", () => {
    const host = {
      '.credentials.json': JSON.stringify(claudeLogin('sk-ant-oat01-real', 'sk-ant-ort01-real')),
      'settings.json': JSON.stringify({ env: { ANTHROPIC_API_KEY: 'sk-ant-api03-real', FOO: '1' }, apiKeyHelper: 'x' }),
      '.claude.json': JSON.stringify({ primaryApiKey: 'sk-ant-api03-other', oauthAccount: { accountUuid: 'u' } }),
    };
    const files = placeholderFiles('claude', host, grant) as Record<string, string>;
    expect(
      secretsIn(files, ['sk-ant-oat01-real', 'sk-ant-ort01-real', 'sk-ant-api03-real', 'sk-ant-api03-other']),
    ).toEqual([]);
    const oauth = JSON.parse(files['.credentials.json']!).claudeAiOauth;
    expect([oauth.accessToken, oauth.refreshToken, oauth.subscriptionType]).toEqual([grant.token, NO_REFRESH, 'max']);
    const settings = JSON.parse(files['settings.json']!);
    expect(settings).toEqual({ env: { FOO: '1', ANTHROPIC_BASE_URL: grant.url } });
  });

  it("carry none of a codex ChatGPT login's tokens, and keep the plan and account codex reads", () => {
    const idToken = codexIdToken('acct-1');
    const host = {
      'auth.json': JSON.stringify({
        tokens: { id_token: idToken, access_token: 'at-real', refresh_token: 'rt-real', account_id: 'acct-1' },
      }),
      'config.toml': 'model = "gpt-5"\n',
    };
    const files = placeholderFiles('codex', host, grant) as Record<string, string>;
    expect(secretsIn(files, ['at-real', 'rt-real', idToken.split('.')[2]!, 'user-acct-1'])).toEqual([]);
    const login = hostLogin('codex', files['auth.json']);
    expect(login).toMatchObject({ kind: 'codex-chatgpt', secret: grant.token, accountId: 'acct-1' });
  });

  it('give a codex API key login a placeholder key', () => {
    const files = placeholderFiles('codex', { 'auth.json': JSON.stringify({ OPENAI_API_KEY: 'sk-proj-real' }) }, grant);
    expect(JSON.parse((files as Record<string, string>)['auth.json']!)).toEqual({ OPENAI_API_KEY: grant.token });
  });

  it('refuse a host folder with no login, naming what is missing', () => {
    expect(placeholderFiles('codex', {}, grant)).toEqual({
      error: 'no codex login: neither tokens nor OPENAI_API_KEY in auth.json',
    });
  });
});

describe("codex's brokered config", () => {
  it("makes the broker codex's provider, replacing the host's own provider choice", () => {
    const toml = brokeredCodexConfig(
      'model_provider = "openai"\nmodel = "gpt-5"\n\n[features]\napps = false\n',
      grant.url,
    );
    expect(toml.match(/^model_provider = .*$/gm)).toEqual(['model_provider = "factory_broker"']);
    expect(toml).toContain('model = "gpt-5"');
    expect(toml).toContain(`base_url = "${grant.url}/codex"`);
    expect(toml.indexOf('chatgpt_base_url')).toBeLessThan(toml.indexOf('[features]'));
  });
});
