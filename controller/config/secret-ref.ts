// A secret the config names by where to find it (`{ env: NAME }` or `{ file: PATH }`), read in one place for every
// secret the controller needs: the webhook secret, the GitHub token.
import { readFile } from 'node:fs/promises';

export interface SecretRef {
  env?: string | undefined;
  file?: string | undefined;
}

/** The value, trimmed; throws naming the config path and what is missing. */
export async function readSecretRef(
  ref: SecretRef,
  env: NodeJS.ProcessEnv,
  path: { env: string; file: string },
): Promise<string> {
  const value = ref.env
    ? env[ref.env]
    : ref.file
      ? await readFile(ref.file, 'utf8').then(
          (s) => s.trim(),
          () => undefined,
        )
      : undefined;
  if (!value)
    throw new Error(
      ref.env ? `${path.env}: environment variable ${ref.env} is not set` : `${path.file}: cannot read ${ref.file}`,
    );
  return value;
}
