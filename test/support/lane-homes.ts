// Builds what a lane container finds on disk: the job's private copies of the host's ~/.codex and ~/.claude
// (subscription auth, no API keys), with the CLIs pointed at the loopback fake model server.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fakeIdToken } from './fake-model-server.js';

export interface LaneHomes {
  codexHome: string;
  claudeConfigDir: string;
  claudeJson: string;
  /** The credential values planted in the auth files, for leak assertions. */
  secrets: string[];
}

/** Codex auth whose last refresh is old enough that codex refreshes it through the fake token endpoint. */
export function writeLaneHomes(root: string, modelServerUrl: string): LaneHomes {
  const codexHome = join(root, 'codex');
  const claudeConfigDir = join(root, 'claude');
  const claudeJson = join(root, 'claude.json');
  mkdirSync(codexHome, { recursive: true });
  mkdirSync(claudeConfigDir, { recursive: true });
  const codexAccess = 'codex-access-token-7f3a9c2e1b';
  const codexRefresh = 'codex-refresh-token-4d8e6f0a2c';
  const claudeAccess = 'sk-ant-oat01-fakeaccesstoken5b7d9f1e3a';
  const claudeRefresh = 'sk-ant-ort01-fakerefreshtoken8c0e2a4b6d';
  writeFileSync(
    join(codexHome, 'auth.json'),
    JSON.stringify({
      OPENAI_API_KEY: null,
      tokens: {
        id_token: fakeIdToken(),
        access_token: codexAccess,
        refresh_token: codexRefresh,
        account_id: 'acct-fake',
      },
      last_refresh: '2025-01-01T00:00:00Z',
    }),
    { mode: 0o600 },
  );
  writeFileSync(join(codexHome, 'config.toml'), codexConfig(modelServerUrl), { mode: 0o600 });
  writeFileSync(
    join(claudeConfigDir, '.credentials.json'),
    JSON.stringify(claudeLogin(claudeAccess, claudeRefresh, 24 * 3600_000)),
    { mode: 0o600 },
  );
  writeFileSync(claudeJson, JSON.stringify({ hasCompletedOnboarding: true, numStartups: 3 }), { mode: 0o600 });
  return { codexHome, claudeConfigDir, claudeJson, secrets: [codexAccess, codexRefresh, claudeAccess, claudeRefresh] };
}

/**
 * claude's `.credentials.json` for the host's login: a refresh the CLI writes keeps its scopes and subscription, which
 * is what credential write-back checks before it takes the new tokens.
 */
export function claudeLogin(accessToken: string, refreshToken: string, validForMs = 3600_000) {
  return {
    claudeAiOauth: {
      accessToken,
      refreshToken,
      expiresAt: Date.now() + validForMs,
      scopes: ['user:inference', 'user:profile'],
      subscriptionType: 'max',
    },
  };
}

/** The host's config: a loopback provider, and the features that would phone home switched off. */
export function codexConfig(modelServerUrl: string): string {
  return [
    'model = "fake-codex-model"',
    'model_provider = "fake"',
    'check_for_update_on_startup = false',
    '',
    '[features]',
    'apps = false',
    'plugins = false',
    'remote_plugin = false',
    'image_generation = false',
    '',
    '[analytics]',
    'enabled = false',
    '',
    '[feedback]',
    'enabled = false',
    '',
    '[model_providers.fake]',
    'name = "fake"',
    `base_url = "${modelServerUrl}/v1"`,
    'wire_api = "responses"',
    'requires_openai_auth = true',
    'supports_websockets = false',
    '',
  ].join('\n');
}

/** Environment that keeps both CLIs on loopback: non-essential traffic off, everything else into the proxy trap. */
export function offlineCliEnv(modelServerUrl: string): Record<string, string> {
  return {
    ANTHROPIC_BASE_URL: modelServerUrl,
    CODEX_REFRESH_TOKEN_URL_OVERRIDE: `${modelServerUrl}/oauth/token`,
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_AUTOUPDATER: '1',
    HTTPS_PROXY: modelServerUrl,
    HTTP_PROXY: modelServerUrl,
    https_proxy: modelServerUrl,
    http_proxy: modelServerUrl,
    NO_PROXY: '127.0.0.1,localhost',
    no_proxy: '127.0.0.1,localhost',
  };
}
