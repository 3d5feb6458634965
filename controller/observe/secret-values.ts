// Values the controller handed a job as secrets (its JIT config, env-file values), found again in what the job
// printed. Shape-based redaction (redact.ts) cannot know them; this replaces them wherever they appear.

/** Shorter values are not scrubbed: they would blank out common words ("true", "main") all over a log. */
export const MIN_SECRET_LENGTH = 6;
const REDACTED = '[redacted]';

/** Names of the variables whose values a runner container must never have printed back to the controller. */
export const SECRET_VARIABLES = ['ACTIONS_RUNNER_INPUT_JITCONFIG'] as const;

function decodeJson(text: string): unknown {
  if (!/^[A-Za-z0-9+/=_-]{16,}$/.test(text)) return undefined;
  try {
    return JSON.parse(Buffer.from(text, 'base64').toString('utf8'));
  } catch {
    return undefined;
  }
}

/**
 * A secret and the forms a job can print it in without effort: a JIT config is base64 of JSON whose values are
 * base64 of JSON again (runner, credentials, RSA parameters); `base64 -d` shows each of those.
 */
export function secretVariants(value: string): string[] {
  const out = new Set<string>();
  const visit = (v: unknown, depth: number) => {
    if (typeof v === 'string') {
      if (v.length < MIN_SECRET_LENGTH) return;
      out.add(v);
      const inner = depth < 3 ? decodeJson(v) : undefined;
      if (inner !== undefined) {
        out.add(Buffer.from(v, 'base64').toString('utf8'));
        visit(inner, depth + 1);
      }
    } else if (v && typeof v === 'object') {
      for (const item of Object.values(v)) visit(item, depth + 1);
    }
  };
  visit(value, 0);
  return [...out];
}

/** The text with every occurrence of each secret (longest first, so a value inside another goes with it) replaced. */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  const all = [...new Set(secrets.flatMap(secretVariants))].sort((a, b) => b.length - a.length);
  return all.reduce((out, s) => out.split(s).join(REDACTED), text);
}
