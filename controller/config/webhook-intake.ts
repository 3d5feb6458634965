// Whether the controller listens for GitHub's webhooks, and on what: only with `intake: webhook`, which needs
// github.webhook; `intake: scaleset` long-polls outbound and opens no port for GitHub at all.
import type { Config } from './config-schema.js';

export type WebhookSettings = NonNullable<Config['github']['webhook']>;

export const WEBHOOK_REQUIRED =
  'intake webhook needs github.webhook { host, port, path, secret }, where GitHub delivers workflow_job events; or set intake: scaleset, which needs no inbound port';

/** The webhook to listen on, or none with `intake: scaleset`; a webhook intake without one names the path to set. */
export function webhookListener(config: Pick<Config, 'intake' | 'github'>): WebhookSettings | undefined {
  // A config built by hand (tests, older callers) without the key is a webhook one, as the schema's default says.
  if (config.intake === 'scaleset') return undefined;
  if (!config.github.webhook) throw new Error(`github.webhook: ${WEBHOOK_REQUIRED}`);
  return config.github.webhook;
}
