// Checks the agent's final answer against the workflow's `output-schema`, so a job that feeds the answer to a
// later step fails here, saying why, instead of there. Ajv is loaded only for a lane that has a schema: it is a
// quarter of the bundle, and a lane without one should not parse it on the way to its agent's start.
import type { ValidateFunction } from 'ajv';

export type SchemaCheck = { ok: true; value: unknown } | { ok: false; reason: string };

async function compile(schemaText: string): Promise<{ validate: ValidateFunction } | { problem: string }> {
  let schema: unknown;
  try {
    schema = JSON.parse(schemaText);
  } catch (err) {
    return { problem: `is not JSON: ${(err as Error).message}` };
  }
  // Node's ESM loader names Ajv's CommonJS exports; a bundle's interop hands over module.exports as the default.
  const ajv = await import('ajv');
  const Ajv = ajv.Ajv ?? (ajv.default as unknown as { Ajv: typeof ajv.Ajv }).Ajv;
  try {
    return { validate: new Ajv({ strict: false, allErrors: true }).compile(schema as object) };
  } catch (err) {
    return { problem: `is not a valid JSON schema: ${(err as Error).message}` };
  }
}

/** Why `schemaText` cannot check an answer, or undefined when it can. */
export async function schemaProblem(schemaText: string): Promise<string | undefined> {
  const compiled = await compile(schemaText);
  return 'problem' in compiled ? compiled.problem : undefined;
}

export async function checkAnswer(answer: string, schemaText: string): Promise<SchemaCheck> {
  const compiled = await compile(schemaText);
  if ('problem' in compiled) return { ok: false, reason: `output-schema ${compiled.problem}` };
  let value: unknown;
  try {
    value = JSON.parse(unfence(answer));
  } catch {
    return { ok: false, reason: 'the final answer is not JSON' };
  }
  const { validate } = compiled;
  if (validate(value)) return { ok: true, value };
  const errors = (validate.errors ?? []).slice(0, 5).map((e) => `${e.instancePath || '(root)'} ${e.message}`);
  return { ok: false, reason: `the final answer does not match output-schema: ${errors.join('; ')}` };
}

/** Models often wrap JSON in a ```json fence even when told not to. */
function unfence(text: string): string {
  const fenced = /^\s*```(?:json)?\s*\n([\s\S]*?)\n```\s*$/.exec(text);
  return (fenced ? fenced[1]! : text).trim();
}
