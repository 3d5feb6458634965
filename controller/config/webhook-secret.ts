// The webhook secret the config points at: read by the controller at start and checked by `factory doctor`.
import type { Config } from './config.js';
import { readSecretRef } from './secret-ref.js';

export function resolveWebhookSecret(config: Config, env: NodeJS.ProcessEnv): Promise<string> {
  return readSecretRef(config.github.webhook.secret, env, {
    env: 'github.webhook.secret.env',
    file: 'github.webhook.secret.file',
  });
}
