// What a brokered job finds in its auth folders in place of the host's login: files shaped as the CLIs expect, whose
// only token is the job's placeholder, with each CLI pointed at the job's broker. The broker (controller/broker/)
// swaps the placeholder for the host's current token; nothing here is worth anything outside the job.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Agent } from '../../lane-contract/agents.js';
import { CLAUDE_JSON } from '../../lane-contract/auth-files.js';
import { hostLogin, jwtClaims } from './host-login.js';

/** In the job folder, outside every mount: the placeholder and the broker's address as the job reaches it. */
export const BROKER_FILE = 'broker.json';

export interface BrokerGrant {
  token: string;
  /** The broker as the job's container reaches it, e.g. http://127.0.0.1:41234. */
  url: string;
  /** The placeholder of the job's gh login, when its profile has one (broker/gh-broker.ts): its own, so the model's
   * never goes where gh or git send theirs. */
  gh?: string;
}

/** The refresh token a placeholder login carries: no provider knows it, and the broker refuses a refresh with it. */
export const NO_REFRESH = 'factory-broker-no-refresh';
/** Far enough that a CLI never refreshes a placeholder during a job (the broker keeps the real token fresh). */
const PLACEHOLDER_LIFETIME_MS = 365 * 24 * 3600_000;
/** The codex model provider the broker is, in the job's config.toml. */
export const CODEX_PROVIDER = 'factory_broker';

export async function readBrokerGrant(jobDir: string): Promise<BrokerGrant | undefined> {
  const text = await readFile(join(jobDir, BROKER_FILE), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const v = JSON.parse(text) as Partial<BrokerGrant>;
  if (typeof v.token !== 'string' || typeof v.url !== 'string') return undefined;
  return { token: v.token, url: v.url, ...(typeof v.gh === 'string' ? { gh: v.gh } : {}) };
}

type Json = Record<string, unknown>;
const parse = (t: string | undefined): Json => {
  try {
    const v = t === undefined ? {} : (JSON.parse(t) as unknown);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {};
  } catch {
    return {};
  }
};

/** An unsigned id_token carrying only what codex reads for its plan and account: no signature, no user id. */
function placeholderIdToken(hostIdToken: unknown): string {
  const claims = jwtClaims(hostIdToken);
  const auth = (claims['https://api.openai.com/auth'] ?? {}) as Json;
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const kept = {
    ...(typeof claims.email === 'string' ? { email: claims.email } : {}),
    'https://api.openai.com/auth': {
      chatgpt_plan_type: auth.chatgpt_plan_type ?? null,
      chatgpt_account_id: auth.chatgpt_account_id ?? null,
    },
  };
  return [part({ alg: 'none', typ: 'JWT' }), part(kept), 'placeholder'].join('.');
}

/**
 * The host's config.toml with the broker as codex's model provider. `requires_openai_auth` makes codex send the
 * placeholder from auth.json (a ChatGPT token or an API key alike) as its bearer; the host's own top-level
 * `model_provider` and `chatgpt_base_url` are dropped, since TOML refuses a key given twice.
 */
export function brokeredCodexConfig(hostToml: string | undefined, url: string): string {
  const lines = (hostToml ?? '').split('\n');
  const firstTable = lines.findIndex((l) => /^\s*\[/.test(l));
  const top = firstTable === -1 ? lines : lines.slice(0, firstTable);
  const rest = firstTable === -1 ? [] : lines.slice(firstTable);
  const kept = top.filter((l) => !/^\s*(model_provider|chatgpt_base_url)\s*=/.test(l));
  return [
    `model_provider = "${CODEX_PROVIDER}"`,
    // The ChatGPT backend's other services (usage, plugins, tasks) at the broker too, which serves none of them.
    `chatgpt_base_url = "${url}/chatgpt"`,
    ...kept,
    ...rest,
    '',
    `[model_providers.${CODEX_PROVIDER}]`,
    'name = "factory broker"',
    `base_url = "${url}/codex"`,
    'wire_api = "responses"',
    'requires_openai_auth = true',
    'supports_websockets = false',
    '',
  ].join('\n');
}

/** claude's settings.json with the broker as its API: settings' env reaches the CLI however it is started. */
function brokeredClaudeSettings(hostText: string | undefined, url: string): string {
  const settings = parse(hostText);
  const env: Json = { ...((settings.env ?? {}) as Json), ANTHROPIC_BASE_URL: url };
  delete env.ANTHROPIC_API_KEY;
  delete env.ANTHROPIC_AUTH_TOKEN;
  const { apiKeyHelper: _helper, ...rest } = settings;
  return JSON.stringify({ ...rest, env }, null, 2);
}

/** The host's files for one agent, by name (absent ones left out). */
export type HostFiles = Partial<Record<string, string>>;

export interface PlaceholderOptions {
  now?: number;
}

/**
 * The files a brokered job gets for one agent, by name. claude always gets a subscription-shaped login, whatever the
 * host holds: the broker sends the host's API key in its place, so the action and the CLI take one path. The hosted
 * MCP servers' logins (`mcpOAuth`) stay on the host too: the job's `credential: oauth` servers are rendered at the
 * broker, which adds the host's login (controller/broker/mcp-login-refresher.ts).
 */
export function placeholderFiles(
  agent: Agent,
  host: HostFiles,
  grant: BrokerGrant,
  { now = Date.now() }: PlaceholderOptions = {},
): Record<string, string> | { error: string } {
  if (agent === 'claude') {
    const login = hostLogin('claude', host['.credentials.json'], host[CLAUDE_JSON]);
    if ('error' in login) return login;
    const credentials = parse(host['.credentials.json']);
    const oauth = (credentials.claudeAiOauth ?? {}) as Json;
    const files: Record<string, string> = {
      '.credentials.json': JSON.stringify({
        claudeAiOauth: {
          accessToken: grant.token,
          refreshToken: NO_REFRESH,
          expiresAt: now + PLACEHOLDER_LIFETIME_MS,
          scopes: oauth.scopes ?? ['user:inference'],
          subscriptionType: oauth.subscriptionType ?? null,
        },
      }),
      'settings.json': brokeredClaudeSettings(host['settings.json'], grant.url),
    };
    if (host[CLAUDE_JSON] !== undefined) {
      const { primaryApiKey: _key, ...state } = parse(host[CLAUDE_JSON]);
      files[CLAUDE_JSON] = JSON.stringify(state);
    }
    return files;
  }
  const login = hostLogin('codex', host['auth.json']);
  if ('error' in login) return login;
  const tokens = (parse(host['auth.json']).tokens ?? {}) as Json;
  const auth =
    login.kind === 'codex-api-key'
      ? { OPENAI_API_KEY: grant.token }
      : {
          OPENAI_API_KEY: null,
          tokens: {
            id_token: placeholderIdToken(tokens.id_token),
            access_token: grant.token,
            refresh_token: NO_REFRESH,
            ...(login.accountId ? { account_id: login.accountId } : {}),
          },
          last_refresh: new Date(now).toISOString(),
        };
  const files: Record<string, string> = {
    'auth.json': JSON.stringify(auth),
    'config.toml': brokeredCodexConfig(host['config.toml'], grant.url),
  };
  if (host['AGENTS.md'] !== undefined) files['AGENTS.md'] = host['AGENTS.md'];
  return files;
}
