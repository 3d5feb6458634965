// `factory doctor`'s look at the labels each repo's jobs ask for: a set no profile of the repo serves is a job that
// waits for a runner forever (GitHub holds a self-hosted job until some runner's labels cover it). Pure: workflow
// texts come in, label sets and rows go out; only labelAsks reads, through the injected client, the reusable
// workflows a job calls.
import { parse } from 'yaml';
import type { Config } from '../config/config.js';
import { matchProfile } from '../daemon/profile-match.js';
import type { GitHubApi, WorkflowFile } from '../github/github-client.js';
import type { DoctorRow } from './doctor-script.js';
import { UNKNOWN, workflowValue, type Value } from './workflow-expression.js';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** One job's ask: its labels, or the reusable workflow it calls (with its `with:`), to be read and asked in turn. */
export type JobAsk =
  | { job: string; labels: string[] }
  | { job: string; uses: string; with: Record<string, Value> }
  /** An expression only the run can evaluate (`matrix.*`, `github.*`), or no runs-on at all. */
  | { job: string; unknown: true };

/** The labels a `runs-on` value names, evaluated with the workflow's inputs; undefined when only the run can tell. */
export function runsOnLabels(raw: unknown, inputs: Record<string, Value> | undefined): string[] | undefined {
  const value = isObject(raw) ? raw.labels : raw;
  const evaluated: Value[] = Array.isArray(value)
    ? value.map((v) => workflowValue(v, inputs))
    : [workflowValue(value, inputs)];
  const flat = evaluated.flatMap((v) => (Array.isArray(v) ? (v as Value[]) : [v]));
  if (flat.length === 0 || flat.some((v) => v === UNKNOWN || typeof v !== 'string' || v === '')) return undefined;
  return flat as string[];
}

/** The inputs a reusable workflow runs with: each declared input's default, then what the caller passed. */
function callInputs(doc: Json, passed: Record<string, Value>): Record<string, Value> {
  const on = isObject(doc.on) ? doc.on : {};
  const declared = isObject(on.workflow_call) && isObject(on.workflow_call.inputs) ? on.workflow_call.inputs : {};
  const inputs: Record<string, Value> = {};
  for (const [name, spec] of Object.entries(declared)) {
    const s = isObject(spec) ? spec : {};
    inputs[name] =
      s.default !== undefined
        ? workflowValue(s.default, {})
        : s.type === 'boolean'
          ? false
          : s.type === 'number'
            ? 0
            : '';
  }
  return { ...inputs, ...passed };
}

/**
 * Every job of a workflow text and what it asks for. `passed`: the inputs a caller gave, when this text is a reusable
 * workflow being called; undefined for a repo's own workflow, whose `inputs.*` (workflow_dispatch) only a run knows.
 */
export function jobAsks(text: string, passed?: Record<string, Value>): JobAsk[] {
  const doc = parse(text) as unknown;
  if (!isObject(doc) || !isObject(doc.jobs)) return [];
  const inputs = passed ? callInputs(doc, passed) : undefined;
  return Object.entries(doc.jobs).map(([job, raw]): JobAsk => {
    const j = isObject(raw) ? raw : {};
    if (typeof j.uses === 'string') {
      const withs = isObject(j.with) ? j.with : {};
      return {
        job,
        uses: j.uses,
        with: Object.fromEntries(Object.entries(withs).map(([k, v]) => [k, workflowValue(v, inputs)])),
      };
    }
    const labels = j['runs-on'] === undefined ? undefined : runsOnLabels(j['runs-on'], inputs);
    return labels ? { job, labels } : { job, unknown: true };
  });
}

/** `owner/repo/path@ref` of a reusable workflow in another repo, or `./path` in the caller's own. */
export function calledWorkflow(
  uses: string,
  callerRepo: string,
): { repo: string; path: string; ref?: string } | undefined {
  if (uses.startsWith('./')) return { repo: callerRepo, path: uses.slice(2) };
  const m = /^([^/@\s]+\/[^/@\s]+)\/([^@\s]+\.ya?ml)@(\S+)$/.exec(uses);
  return m ? { repo: m[1]!, path: m[2]!, ref: m[3]! } : undefined;
}

/** Where a label set is asked for: `file job` or `file job → called-workflow job`. */
export interface LabelAsk {
  labels: string[];
  where: string;
}

/**
 * One row per label set a repo's jobs ask for that no profile of the repo serves. Only sets meant for a self-hosted
 * runner count: they name `self-hosted` or a label some profile carries (`ubuntu-latest` is GitHub's).
 */
export function unservedLabelRows(config: Config, repo: string, asks: readonly LabelAsk[]): DoctorRow[] {
  const ours = new Set(
    ['self-hosted', ...Object.values(config.profiles).flatMap((p) => p.labels)].map((l) => l.toLowerCase()),
  );
  const unserved = new Map<string, { labels: string[]; where: string[] }>();
  for (const ask of asks) {
    if (!ask.labels.some((l) => ours.has(l.toLowerCase()))) continue;
    if (matchProfile(config, repo, ask.labels)) continue;
    const key = ask.labels
      .map((l) => l.toLowerCase())
      .sort()
      .join(',');
    const entry = unserved.get(key) ?? { labels: ask.labels, where: [] };
    entry.where.push(ask.where);
    unserved.set(key, entry);
  }
  return [...unserved.values()].map(({ labels, where }) => ({
    scope: repo,
    name: `runs-on [${labels.join(', ')}]`,
    ok: true,
    warning: true,
    detail: `no profile of this repo serves it, so these jobs wait for a runner forever: ${where.join('; ')}`,
    fix: `list a profile whose labels cover [${labels.join(', ')}] (and, for a lane, name one of its own labels) in the repo's profiles, or change the jobs' runs-on`,
  }));
}

/**
 * The label sets a repo's jobs ask for, the jobs of the reusable workflows they call included (read at the ref the
 * caller names, through the contents API, each once). A workflow that does not parse is the Docker check's to report.
 */
async function labelAsks(
  github: GitHubApi,
  repo: string,
  files: readonly WorkflowFile[],
): Promise<{ asks: LabelAsk[]; unread: DoctorRow[] }> {
  const asks: LabelAsk[] = [];
  const unread: DoctorRow[] = [];
  const called = new Map<string, Promise<string | undefined>>();
  const read = (uses: string) => {
    const target = calledWorkflow(uses, repo);
    if (!target) return Promise.resolve(undefined);
    if (!called.has(uses))
      called.set(
        uses,
        target.ref === undefined
          ? Promise.resolve(files.find((f) => f.path === target.path)?.text)
          : (github.readFile?.(target.repo, target.path, target.ref) ?? Promise.resolve(undefined)),
      );
    return called.get(uses)!;
  };
  for (const file of files) {
    let jobs: JobAsk[];
    try {
      jobs = jobAsks(file.text);
    } catch {
      continue;
    }
    for (const ask of jobs) {
      const where = `${file.path} job ${ask.job}`;
      if ('labels' in ask) asks.push({ labels: ask.labels, where });
      if (!('uses' in ask)) continue;
      try {
        const text = await read(ask.uses);
        if (text === undefined) {
          if (calledWorkflow(ask.uses, repo))
            unread.push({
              scope: repo,
              name: `workflow ${file.path}`,
              ok: true,
              warning: true,
              detail: `job ${ask.job} calls ${ask.uses}, which was not found: the labels its jobs ask for are not checked`,
              fix: 'check the path and ref, and that the token or App can read that repository',
            });
          continue;
        }
        for (const inner of jobAsks(text, ask.with))
          if ('labels' in inner) asks.push({ labels: inner.labels, where: `${where} → ${ask.uses} job ${inner.job}` });
      } catch (err) {
        unread.push({
          scope: repo,
          name: `workflow ${file.path}`,
          ok: true,
          warning: true,
          detail: `job ${ask.job} calls ${ask.uses}, not read: ${(err as Error).message.split('\n')[0]}`,
          fix: 'give the token or App read access to that repository',
        });
      }
    }
  }
  return { asks, unread };
}

/** The rows for one repo: each label set no profile serves, and each called workflow that could not be read. */
export async function runsOnRows(
  config: Config,
  github: GitHubApi,
  repo: string,
  files: readonly WorkflowFile[],
): Promise<DoctorRow[]> {
  const { asks, unread } = await labelAsks(github, repo, files);
  return [...unservedLabelRows(config, repo, asks), ...unread];
}
