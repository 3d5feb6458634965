// The part of GitHub's REST description that the controller's GitHub surface uses (the routes of the client and of
// the stand-in), cut out whole into test/fixtures/github-openapi-subset.json: the operations with every component
// they reach, and the methods of every path so that matching a concrete path to its route stays exact. Unit tests
// validate against it instead of parsing the 13 MB description; test/support/openapi.ts falls back to the whole
// description for any other route. test/github/openapi-subset.deep.test.ts fails when the file is stale.
// Regenerate: npx tsx test/support/openapi-subset.ts
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

type Json = Record<string, unknown>;
export interface OpenApiDoc {
  info: { version: string };
  paths: Record<string, Record<string, Json>>;
  components: Record<string, Record<string, unknown>>;
}
export interface OpenApiSubset {
  _source: string;
  /** Every path of the whole description with its methods, in the description's order. */
  methods: Record<string, string[]>;
  paths: Record<string, Record<string, Json>>;
  components: Record<string, Record<string, unknown>>;
}

/** `method template` of each operation the subset keeps. */
export const SUBSET_OPERATIONS = [
  'get /repos/{owner}/{repo}/installation',
  'get /orgs/{org}/installation',
  'post /app/installations/{installation_id}/access_tokens',
  'post /repos/{owner}/{repo}/actions/runners/generate-jitconfig',
  'post /repos/{owner}/{repo}/actions/runners/registration-token',
  'get /repos/{owner}/{repo}/actions/runners',
  'delete /repos/{owner}/{repo}/actions/runners/{runner_id}',
  'get /repos/{owner}/{repo}/actions/runs',
  'get /repos/{owner}/{repo}/actions/runs/{run_id}',
  'get /repos/{owner}/{repo}/actions/runs/{run_id}/jobs',
  'get /repos/{owner}/{repo}/contents/{path}',
  'get /repos/{owner}/{repo}/releases/latest',
  'post /orgs/{org}/actions/runners/generate-jitconfig',
  'post /orgs/{org}/actions/runners/registration-token',
  'get /orgs/{org}/actions/runners',
  'delete /orgs/{org}/actions/runners/{runner_id}',
  'get /orgs/{org}/repos',
  'get /orgs/{org}/actions/runner-groups',
  'get /orgs/{org}/actions/runner-groups/{runner_group_id}/repositories',
  // gh's own calls in a brokered lane (test/support/fake-gh-api.ts).
  'get /user',
];
/** Components a check reaches without a `$ref` (the basic error every route may answer with). */
const ALWAYS = ['#/components/schemas/basic-error'];

export const SUBSET_FILE = fileURLToPath(new URL('../fixtures/github-openapi-subset.json', import.meta.url));
export const FULL_FILE = createRequire(import.meta.url).resolve('@octokit/openapi/generated/api.github.com.json');

export function subsetOf(doc: OpenApiDoc, operations: readonly string[] = SUBSET_OPERATIONS): OpenApiSubset {
  const paths: OpenApiSubset['paths'] = {};
  for (const line of operations) {
    const [method, template] = line.split(' ') as [string, string];
    const op = doc.paths[template]?.[method];
    if (!op) throw new Error(`no operation ${line} in GitHub's REST description`);
    (paths[template] ??= {})[method] = op;
  }
  const components: OpenApiSubset['components'] = {};
  const seen = new Set<string>();
  const reach = (ref: string) => {
    if (seen.has(ref)) return;
    seen.add(ref);
    const [, , kind, name] = ref.split('/') as [string, string, string, string];
    const node = doc.components[kind]?.[name];
    if (node === undefined) throw new Error(`${ref} is not in GitHub's REST description`);
    (components[kind] ??= {})[name] = node;
    walk(node);
  };
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object')
      for (const [k, v] of Object.entries(node)) {
        if (k === '$ref' && typeof v === 'string' && v.startsWith('#/components/')) reach(v);
        else walk(v);
      }
  };
  ALWAYS.forEach(reach);
  walk(paths);
  // Sorted, so a regenerated file differs from the old one only where GitHub's description changed.
  const sorted = Object.fromEntries(
    Object.entries(components)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([kind, named]) => [kind, Object.fromEntries(Object.entries(named).sort(([a], [b]) => a.localeCompare(b)))]),
  );
  return {
    _source: `@octokit/openapi api.github.com.json (GitHub REST ${doc.info.version}), cut by test/support/openapi-subset.ts`,
    methods: Object.fromEntries(Object.entries(doc.paths).map(([template, ops]) => [template, Object.keys(ops)])),
    paths,
    components: sorted,
  };
}

export const readFullDescription = (): OpenApiDoc => JSON.parse(readFileSync(FULL_FILE, 'utf8')) as OpenApiDoc;

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(SUBSET_FILE, JSON.stringify(subsetOf(readFullDescription())) + '\n');
  console.log(`wrote ${SUBSET_FILE}`);
}
