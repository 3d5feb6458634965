// Validates fake GitHub traffic against GitHub's published OpenAPI description, so a fake that drifts
// from the real API fails the test that uses it instead of passing against a shape GitHub never sends.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

type Json = Record<string, unknown>;
interface Operation {
  requestBody?: { content?: Record<string, { schema?: Json }> };
  responses: Record<string, { $ref?: string; content?: Record<string, { schema?: Json }> }>;
}

const DOC_ID = 'https://github.test/openapi.json';
const require = createRequire(import.meta.url);

let loaded:
  { spec: Json & { paths: Record<string, Record<string, Operation>> }; ajv: Ajv; routes: Route[] } | undefined;
interface Route {
  template: string;
  regex: RegExp;
}
const compiled = new Map<string, ValidateFunction>();

function load() {
  if (loaded) return loaded;
  const file = require.resolve('@octokit/openapi/generated/api.github.com.json');
  const spec = nullableWithoutType(allowNullInNullableEnums(JSON.parse(readFileSync(file, 'utf8'))));
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
  (addFormatsModule as unknown as (a: Ajv) => void)(ajv);
  ajv.addSchema({ $id: DOC_ID, components: spec.components });
  const routes = Object.keys(spec.paths).map((template) => ({
    template,
    regex: new RegExp('^' + template.replace(/\{[^}]+\}/g, '[^/]+') + '$'),
  }));
  loaded = { spec, ajv, routes };
  return loaded;
}

/** OpenAPI 3.0 lets `nullable: true` admit null even beside an `enum`; Ajv reads the enum strictly, so add null to it. */
function allowNullInNullableEnums<T>(node: T): T {
  if (Array.isArray(node)) node.forEach(allowNullInNullableEnums);
  else if (node && typeof node === 'object') {
    const o = node as Record<string, unknown>;
    if (o.nullable === true && Array.isArray(o.enum) && !o.enum.includes(null)) o.enum.push(null);
    Object.values(o).forEach(allowNullInNullableEnums);
  }
  return node;
}

/** GitHub writes `{ nullable: true, oneOf: [{ $ref }, ...] }` (a commit's author); Ajv refuses `nullable` without
 * `type`, so such a node becomes `{ anyOf: [{ type: 'null' }, <the rest>] }`, which means the same. */
function nullableWithoutType<T>(node: T): T {
  if (Array.isArray(node)) return node.map(nullableWithoutType) as T;
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, unknown> = Object.fromEntries(
    Object.entries(node).map(([k, v]) => [k, nullableWithoutType(v)]),
  );
  if (out.nullable === true && out.type === undefined) {
    const { nullable: _dropped, ...rest } = out;
    return { anyOf: [{ type: 'null' }, rest] } as T;
  }
  return out as T;
}

/** Rewrites the document-relative `$ref`s of an operation's inline schema so Ajv resolves them in the spec. */
function anchorRefs(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(anchorRefs);
  if (node && typeof node === 'object') {
    return Object.fromEntries(
      Object.entries(node).map(([k, v]) => [
        k,
        k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? DOC_ID + v : anchorRefs(v),
      ]),
    );
  }
  return node;
}

function operation(method: string, path: string): { template: string; op: Operation } {
  const { spec, routes } = load();
  const pathname = path.split('?')[0]!.replace(/\/+$/, '');
  // Literal segments win over templated ones (`/runners/downloads` before `/runners/{runner_id}`).
  const matches = routes.filter((r) => r.regex.test(pathname)).sort((a, b) => braces(a.template) - braces(b.template));
  for (const { template } of matches) {
    const op = spec.paths[template]?.[method.toLowerCase()];
    if (op) return { template, op };
  }
  throw new Error(`OpenAPI: no operation ${method.toUpperCase()} ${pathname} in GitHub's REST description`);
}
const braces = (t: string) => (t.match(/\{/g) ?? []).length;

function validator(key: string, schema: Json): ValidateFunction {
  let v = compiled.get(key);
  if (!v) {
    v = load().ajv.compile(anchorRefs(schema) as Json);
    compiled.set(key, v);
  }
  return v;
}

function check(v: ValidateFunction, body: unknown, what: string): void {
  if (!v(body)) {
    const errors = (v.errors ?? [])
      .slice(0, 5)
      .map((e) => `${e.instancePath || '(root)'} ${e.message}`)
      .join('; ');
    throw new Error(`OpenAPI: ${what} does not match GitHub's schema: ${errors}`);
  }
}

/** Throws when `body` is not a valid JSON request body for `METHOD path` (a concrete path such as `/repos/o/r/...`). */
export function assertRequest(method: string, path: string, body: unknown): void {
  const { template, op } = operation(method, path);
  const schema = op.requestBody?.content?.['application/json']?.schema;
  if (schema && body === undefined && !(op.requestBody as { required?: boolean }).required) return; // optional body left out
  if (!schema) {
    if (body !== undefined && body !== null && body !== '')
      throw new Error(`OpenAPI: ${method} ${template} takes no JSON body`);
    return;
  }
  check(validator(`req ${method} ${template}`, schema), body, `request body of ${method.toUpperCase()} ${template}`);
}

/** Throws when `status` is not a documented response of `METHOD path`, or when `body` does not match its schema. */
export function assertResponse(method: string, path: string, status: number, body: unknown): void {
  const { spec } = load();
  const { template, op } = operation(method, path);
  let response = op.responses[String(status)];
  // GitHub answers a missing resource (404) or a bad credential (401) with a basic-error body on every route,
  // documented there or not.
  if (!response && (status === 404 || status === 401))
    response = { content: { 'application/json': { schema: { $ref: '#/components/schemas/basic-error' } } } };
  if (!response) throw new Error(`OpenAPI: ${method.toUpperCase()} ${template} does not document status ${status}`);
  if (response.$ref) {
    const name = response.$ref.split('/').pop()!;
    response = (spec.components as { responses: Record<string, typeof response> }).responses[name]!;
  }
  const schema = response.content?.['application/json']?.schema;
  if (!schema) return;
  check(
    validator(`res ${method} ${template} ${status}`, schema),
    body,
    `${status} response of ${method.toUpperCase()} ${template}`,
  );
}

/** True when GitHub documents the operation; lets a fake refuse routes the real API does not have. */
export function hasOperation(method: string, path: string): boolean {
  try {
    operation(method, path);
    return true;
  } catch {
    return false;
  }
}
