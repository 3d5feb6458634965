// The secrets the controller reads at start, read the same way without starting it: `factory validate --secrets`
// (systemd's ExecStartPre) fails on an unset variable or an unreadable file, so a restart loop never begins.
import { readFile } from 'node:fs/promises';
import type { Config } from './config.js';
import { readSecretRef } from './secret-ref.js';
import { resolveWebhookSecret } from './webhook-secret.js';
import { webhookListener } from './webhook-intake.js';

/** One line per secret the controller could not read from `env` and the files the config names. */
export async function unreadableSecrets(config: Config, env: NodeJS.ProcessEnv): Promise<string[]> {
  const problems: string[] = [];
  const attempt = (read: Promise<unknown>) => read.catch((err: Error) => void problems.push(err.message));
  // With `intake: scaleset` the controller reads no webhook secret, so a stale reference to one stops nothing.
  const webhook = webhookListener(config);
  if (webhook) await attempt(resolveWebhookSecret(webhook, env));
  const auth = config.github.auth;
  if ('appId' in auth) {
    await attempt(
      readFile(auth.privateKeyPath, 'utf8').catch((err: NodeJS.ErrnoException) => {
        throw new Error(`github.auth.privateKeyPath: cannot read ${auth.privateKeyPath} (${err.code})`);
      }),
    );
  } else {
    await attempt(
      readSecretRef({ env: auth.tokenEnv, file: auth.tokenFile }, env, {
        env: 'github.auth.tokenEnv',
        file: 'github.auth.tokenFile',
      }),
    );
  }
  return problems;
}
