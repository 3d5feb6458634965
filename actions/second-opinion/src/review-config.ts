// The repository's own guidance for its reviewer: `.github/second-opinion.yml`, read from the pull request's base
// commit, so maintainers set it and a PR cannot rewrite the instructions it is reviewed under.
import { parse } from 'yaml';
import { z } from 'zod';

export const REVIEW_CONFIG_PATH = '.github/second-opinion.yml';

export interface ReviewConfig {
  /** What reviews in this repository should look at first, in the maintainers' words. */
  focus: string;
}

const schema = z
  .object({
    focus: z.string({ error: 'must be text' }).max(4_000, { error: 'must be at most 4000 characters' }).optional(),
  })
  .strict();

/** The config from the file's text; no file means no guidance. Errors name the file and the key. */
export function parseReviewConfig(text: string | undefined): ReviewConfig {
  if (text === undefined) return { focus: '' };
  let value: unknown;
  try {
    value = parse(text) ?? {};
  } catch (err) {
    throw new Error(`${REVIEW_CONFIG_PATH}: not YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new Error(
      parsed.error.issues
        .map(
          (i) =>
            `${REVIEW_CONFIG_PATH}: ${i.path.length ? `${i.path.join('.')} ` : ''}${i.code === 'unrecognized_keys' ? `has unknown keys ${i.keys.join(', ')} (known: focus)` : i.message}`,
        )
        .join('\n'),
    );
  }
  return { focus: parsed.data.focus?.trim() ?? '' };
}
