// Checks the agent's final answer against the workflow's `output-schema`, so a job that feeds the answer to a
// later step fails here, saying why, instead of there.
import { Ajv } from 'ajv';

export type SchemaCheck = { ok: true; value: unknown } | { ok: false; reason: string };

export function checkAnswer(answer: string, schemaText: string): SchemaCheck {
  let schema: unknown;
  try {
    schema = JSON.parse(schemaText);
  } catch (err) {
    return { ok: false, reason: `output-schema is not JSON: ${(err as Error).message}` };
  }
  let value: unknown;
  try {
    value = JSON.parse(unfence(answer));
  } catch {
    return { ok: false, reason: 'the final answer is not JSON' };
  }
  const ajv = new Ajv({ strict: false, allErrors: true });
  let validate;
  try {
    validate = ajv.compile(schema as object);
  } catch (err) {
    return { ok: false, reason: `output-schema is not a valid JSON schema: ${(err as Error).message}` };
  }
  if (validate(value)) return { ok: true, value };
  const errors = (validate.errors ?? []).slice(0, 5).map((e) => `${e.instancePath || '(root)'} ${e.message}`);
  return { ok: false, reason: `the final answer does not match output-schema: ${errors.join('; ')}` };
}

/** Models often wrap JSON in a ```json fence even when told not to. */
function unfence(text: string): string {
  const fenced = /^\s*```(?:json)?\s*\n([\s\S]*?)\n```\s*$/.exec(text);
  return (fenced ? fenced[1]! : text).trim();
}
