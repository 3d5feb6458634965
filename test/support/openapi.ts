// Validates fake GitHub traffic against GitHub's published OpenAPI description, so a fake that drifts
// from the real API fails the test that uses it instead of passing against a shape GitHub never sends.
// The routes the controller uses are read from a subset of the description cut out whole (openapi-subset.ts); any
// other route loads the whole 13 MB description, once per worker.
import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { FULL_FILE, SUBSET_FILE, type OpenApiSubset } from './openapi-subset.js';

type Json = Record<string, unknown>;
interface Operation {
  requestBody?: { content?: Record<string, { schema?: Json }> };
  responses: Record<string, { $ref?: string; content?: Record<string, { schema?: Json }> }>;
}
interface Description {
  paths: Record<string, Record<string, Operation>>;
  components: Json & { responses?: Record<string, Operation['responses'][string]> };
  ajv: Ajv;
  compiled: Map<string, ValidateFunction>;
}

const DOC_ID = 'https://github.test/openapi.json';

let subset: (Description & { routes: Route[]; methods: Record<string, string[]> }) | undefined;
let full: Description | undefined;
interface Route {
  template: string;
  regex: RegExp;
}

function prepare(doc: { paths: Record<string, Record<string, unknown>>; components: Json }): Description {
  const { paths, components } = nullableWithoutType(allowNullInNullableEnums(doc));
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
  (addFormatsModule as unknown as (a: Ajv) => void)(ajv);
  ajv.addSchema({ $id: DOC_ID, components });
  return { paths: paths as Description['paths'], components, ajv, compiled: new Map() };
}

function loadSubset() {
  if (subset) return subset;
  const doc = JSON.parse(readFileSync(SUBSET_FILE, 'utf8')) as OpenApiSubset;
  const routes = Object.keys(doc.methods).map((template) => ({
    template,
    regex: new RegExp('^' + template.replace(/\{[^}]+\}/g, '[^/]+') + '$'),
  }));
  subset = { ...prepare(doc), routes, methods: doc.methods };
  return subset;
}

function loadFull(): Description {
  full ??= prepare(JSON.parse(readFileSync(FULL_FILE, 'utf8')) as Description);
  return full;
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

function operation(method: string, path: string): { template: string; op: Operation; doc: Description } {
  const { routes, methods, paths } = loadSubset();
  const pathname = path.split('?')[0]!.replace(/\/+$/, '');
  const verb = method.toLowerCase();
  // Literal segments win over templated ones (`/runners/downloads` before `/runners/{runner_id}`).
  const matches = routes.filter((r) => r.regex.test(pathname)).sort((a, b) => braces(a.template) - braces(b.template));
  for (const { template } of matches) {
    if (!methods[template]!.includes(verb)) continue;
    const cut = paths[template]?.[verb];
    if (cut) return { template, op: cut, doc: subset! };
    const whole = loadFull();
    return { template, op: whole.paths[template]![verb]!, doc: whole };
  }
  throw new Error(`OpenAPI: no operation ${method.toUpperCase()} ${pathname} in GitHub's REST description`);
}
const braces = (t: string) => (t.match(/\{/g) ?? []).length;

function validator(doc: Description, key: string, schema: Json): ValidateFunction {
  let v = doc.compiled.get(key);
  if (!v) {
    v = doc.ajv.compile(anchorRefs(schema) as Json);
    doc.compiled.set(key, v);
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
  const { template, op, doc } = operation(method, path);
  const schema = op.requestBody?.content?.['application/json']?.schema;
  if (schema && body === undefined && !(op.requestBody as { required?: boolean }).required) return; // optional body left out
  if (!schema) {
    if (body !== undefined && body !== null && body !== '')
      throw new Error(`OpenAPI: ${method} ${template} takes no JSON body`);
    return;
  }
  check(
    validator(doc, `req ${method} ${template}`, schema),
    body,
    `request body of ${method.toUpperCase()} ${template}`,
  );
}

/** Throws when `status` is not a documented response of `METHOD path`, or when `body` does not match its schema. */
export function assertResponse(method: string, path: string, status: number, body: unknown): void {
  const { template, op, doc } = operation(method, path);
  let response = op.responses[String(status)];
  // GitHub answers a missing resource (404) or a bad credential (401) with a basic-error body on every route,
  // documented there or not.
  if (!response && (status === 404 || status === 401))
    response = { content: { 'application/json': { schema: { $ref: '#/components/schemas/basic-error' } } } };
  if (!response) throw new Error(`OpenAPI: ${method.toUpperCase()} ${template} does not document status ${status}`);
  if (response.$ref) {
    const name = response.$ref.split('/').pop()!;
    response = doc.components.responses![name]!;
  }
  const schema = response.content?.['application/json']?.schema;
  if (!schema) return;
  check(
    validator(doc, `res ${method} ${template} ${status}`, schema),
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

/** One of GitHub's documented examples (`components.examples`) the subset carries, as a fresh copy. */
export function documentedExample(name: string): Json {
  const example = (loadSubset().components.examples as Record<string, { value: Json }> | undefined)?.[name];
  if (!example) throw new Error(`OpenAPI: no example ${name} in the subset (openapi-subset.ts)`);
  return structuredClone(example.value);
}
