// The webhook secret the config points at: read by the controller at start and checked by `factory doctor`.
import { readSecretRef } from './secret-ref.js';
import type { WebhookSettings } from './webhook-intake.js';

export function resolveWebhookSecret(webhook: WebhookSettings, env: NodeJS.ProcessEnv): Promise<string> {
  return readSecretRef(webhook.secret, env, {
    env: 'github.webhook.secret.env',
    file: 'github.webhook.secret.file',
  });
}
