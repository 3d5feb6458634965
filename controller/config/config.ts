// The controller's settings file (`factory.yml`): parsed once at the edge, every problem reported with its path.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { isAlias, LineCounter, parseDocument, visit, type Document } from 'yaml';
import { z } from 'zod';
import { formatPath, formatProblem, lineOf, problemsFromIssues, type ConfigProblem } from './config-problems.js';
import { configFieldsSchema, type Config, type Profile } from './config-schema.js';
import { distinguishingLabels } from './profile-labels.js';
import { refuseUnsafeProfile, type Refuse } from './trust-gate.js';
import { coveringPattern } from './repo-patterns.js';
import { refuseUnsafeJobDocker } from './job-docker-gate.js';
import { configWarnings } from './config-warnings.js';
import { refuseSplitConcurrency } from './shared-logins.js';
import { refuseLeakyEgress } from './egress-gate.js';
import { refuseOrphanMcpLogin } from './mcp-credentials.js';
import { refuseUnsafeDataTargets } from './data-gate.js';
import { WEBHOOK_REQUIRED } from './webhook-intake.js';
import { errorMessage } from '../util/error-message.js';

export { configFieldsSchema, profileSchema } from './config-schema.js';
export type { Config, McpServer, Mount, OrgConfig, Profile, RepoConfig } from './config-schema.js';

/** The whole file's rules: each field's own (config-schema.ts), then the checks that read across sections. */
export const configSchema = configFieldsSchema.superRefine((config, ctx) => {
  if (config.repos.length === 0 && config.orgs.length === 0)
    ctx.addIssue({ code: 'custom', path: ['repos'], message: 'configure at least one repo (or an org under orgs)' });
  if (config.intake === 'webhook' && !config.github.webhook)
    ctx.addIssue({ code: 'custom', path: ['github', 'webhook'], message: WEBHOOK_REQUIRED });
  for (const [name, profile] of Object.entries(config.profiles)) {
    const refuse: Refuse = (path, message) =>
      ctx.addIssue({ code: 'custom', path: ['profiles', name, ...path], message });
    refuseUnsafeProfile(config, name, profile, refuse);
    refuseUnsafeDataTargets(profile, refuse);
    refuseUnsafeJobDocker(config.backend, name, profile, refuse);
    refuseLeakyEgress(config.backend, name, profile, refuse);
    refuseOrphanMcpLogin(name, profile, refuse);
    if (config.backend === 'swarm') refuseUnpinnedLane(name, profile, refuse);
    // The engine has no "none" network for services: every job would fail to start ("network none not found").
    if (config.backend === 'swarm' && profile.network === 'none')
      refuse(
        ['network'],
        'network "none" cannot be given to a swarm service: on backend swarm use host, or an overlay network that reaches nothing (docker network create -d overlay --internal factory-isolated)',
      );
    if (profile.trusted && distinguishingLabels(config.profiles, profile).length === 0) {
      const shared = Object.entries(config.profiles)
        .filter(([, o]) => !o.trusted)
        .map(([n]) => n);
      refuse(
        ['labels'],
        `trusted profile "${name}" has no label of its own: every label is "self-hosted" or also on an untrusted profile (${shared.join(', ') || 'none'}), so a plain job could get its credentials; add a label such as "${name}" to it and to its jobs' runs-on`,
      );
    }
  }
  refuseSplitConcurrency(config, (name, path, message) =>
    ctx.addIssue({ code: 'custom', path: ['profiles', name, ...path], message }),
  );
  for (const issue of repoChecks(config)) ctx.addIssue({ code: 'custom', ...issue });
});

const got = (input: unknown) => JSON.stringify(input);
type CrossIssue = { path: PropertyKey[]; message: string };
const asRecord = (v: unknown): Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

/**
 * The repos' and orgs' references across sections (their profiles exist, no repo or org twice, no repo served by both
 * a repo entry and an org entry, no runner group on a repo entry). They read raw input too, so a file
 * with a typo elsewhere still hears about its unknown profile in the same run, not after the fix.
 */
export function repoChecks(input: unknown): CrossIssue[] {
  const issues: CrossIssue[] = [];
  const profiles = asRecord(asRecord(input).profiles);
  const repos = asRecord(input).repos;
  const seen = new Map<string, number>();
  (Array.isArray(repos) ? repos : []).forEach((raw, i) => {
    const r = asRecord(raw);
    if (typeof r.repo === 'string') {
      const key = r.repo.toLowerCase();
      if (seen.has(key))
        issues.push({
          path: ['repos', i, 'repo'],
          message: `${r.repo} is already configured at repos[${seen.get(key)}]`,
        });
      else seen.set(key, i);
    }
    issues.push(...unknownProfiles(profiles, r.profiles, ['repos', i, 'profiles']));
    if (typeof r.repo === 'string') issues.push(...groupOnRepoEntry(profiles, r.profiles, r.repo, i));
  });
  const orgs = asRecord(input).orgs;
  const seenOrgs = new Map<string, number>();
  (Array.isArray(orgs) ? orgs : []).forEach((raw, k) => {
    const o = asRecord(raw);
    issues.push(...unknownProfiles(profiles, o.profiles, ['orgs', k, 'profiles']));
    issues.push(...lanesOnOrg(profiles, o, k));
    if (typeof o.name !== 'string') return;
    const key = o.name.toLowerCase();
    if (seenOrgs.has(key)) {
      issues.push({
        path: ['orgs', k, 'name'],
        message: `${o.name} is already configured at orgs[${seenOrgs.get(key)}]`,
      });
      return;
    }
    seenOrgs.set(key, k);
    const patterns = {
      name: o.name,
      include: stringsOr(o.include, ['*']),
      exclude: stringsOr(o.exclude, []),
    };
    (Array.isArray(repos) ? repos : []).forEach((rawRepo, i) => {
      const repo = asRecord(rawRepo).repo;
      const pattern = typeof repo === 'string' ? coveringPattern(patterns, repo) : undefined;
      if (pattern === undefined) return;
      issues.push({
        path: ['repos', i, 'repo'],
        message: `${repo as string} is also covered by orgs[${k}] (${o.name}, include ${got(pattern)}): one entry must serve it; remove repos[${i}], or add ${got((repo as string).split('/')[1])} to orgs[${k}].exclude`,
      });
    });
  });
  return issues;
}

const stringsOr = (v: unknown, fallback: string[]): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : fallback;

function unknownProfiles(profiles: Record<string, unknown>, list: unknown, path: PropertyKey[]): CrossIssue[] {
  const known = Object.keys(profiles).join(', ') || 'none';
  return (Array.isArray(list) ? list : []).flatMap((p, j) =>
    typeof p === 'string' && !Object.hasOwn(profiles, p)
      ? [{ path: [...path, j], message: `unknown profile ${got(p)} (defined: ${known})` }]
      : [],
  );
}

/**
 * A lane (trusted profile) carries credentials. GitHub gives a queued job to any idle org runner whose group admits
 * the job's repo, whatever the patterns say, so an org entry offers a lane only through a runner group of its own;
 * the controller then requires that group to admit selected repositories only (runner-groups.ts), so no repo reaches
 * the lane, excluded or created later, unless an org admin adds it to the group.
 */
function lanesOnOrg(profiles: Record<string, unknown>, o: Record<string, unknown>, k: number): CrossIssue[] {
  return (Array.isArray(o.profiles) ? o.profiles : []).flatMap((p, j): CrossIssue[] => {
    const profile = typeof p === 'string' && Object.hasOwn(profiles, p) ? asRecord(profiles[p]) : {};
    if (profile.trusted !== true || typeof profile.runnerGroup === 'string') return [];
    return [
      {
        path: ['orgs', k, 'profiles', j],
        message: `trusted profile ${got(p)} carries credentials and has no runnerGroup: in the default group GitHub may give its org runners the job of any repo of the org, excluded ones included; set runnerGroup to a group open to selected repositories only`,
      },
    ];
  });
}

/** Runner groups are an organisation's: a repo-level runner always joins the default group, so saying otherwise is refused. */
function groupOnRepoEntry(profiles: Record<string, unknown>, list: unknown, repo: string, i: number): CrossIssue[] {
  return (Array.isArray(list) ? list : []).flatMap((p, j) => {
    const group = typeof p === 'string' && Object.hasOwn(profiles, p) ? asRecord(profiles[p]).runnerGroup : undefined;
    return typeof group === 'string'
      ? [
          {
            path: ['repos', i, 'profiles', j],
            message: `profile ${got(p)} sets runnerGroup ${got(group)}, but ${repo} is a repo entry and repo-level runners have no runner group; serve it from an orgs entry, or use a profile without runnerGroup`,
          },
        ]
      : [];
  });
}

/** A constraint that names one node, or the nodes an operator labelled: `node.hostname|id == x`, `node.labels.k == v`. */
const PINS = /^\s*node\.(hostname|id|labels\.[A-Za-z0-9_.-]+)\s*==\s*\S/;

/**
 * On swarm a job may land on any node that fits; a lane's host mounts (auth, secrets, data) exist only on the node
 * that holds them, and elsewhere Docker would create empty folders or fail, so the profile must say where it runs.
 */
function refuseUnpinnedLane(name: string, p: Profile, refuse: Refuse): void {
  const hostMounts = p.mounts
    .filter((m) => m.kind === 'auth' || m.kind === 'secrets' || m.kind === 'data' || m.kind === 'gh')
    .map((m) => m.kind);
  if (hostMounts.length === 0 || p.placement.some((c) => PINS.test(c))) return;
  refuse(
    ['placement'],
    `profile "${name}" has ${[...new Set(hostMounts)].join(', ')} mounts and backend is swarm: add a placement that pins it to the node holding them, e.g. placement: ["node.hostname == <node>"] or ["node.labels.factory.lane == true"]`,
  );
}

export type ConfigResult =
  | { ok: true; config: Config; warnings?: ConfigProblem[] }
  | { ok: false; problems: string[]; details?: ConfigProblem[] };
// `problems` name the path (what the watcher logs, what `repos` refuses with); `details` add the line, for the CLI.
// `warnings`: what a valid file should still change (a lane profile whose agent runs as the runner's user).

export { formatPath } from './config-problems.js';
export type { ConfigProblem } from './config-problems.js';

// yaml's own default, said out loud: a real factory.yml shares a few mount or label lists; a "billion laughs" file
// expands far past this and is refused instead of eating the controller's memory.
const MAX_ALIAS_COUNT = 100;

function firstAliasLine(doc: Document, lines: LineCounter): number | undefined {
  let line: number | undefined;
  visit(doc, {
    Alias(_key, node) {
      if (isAlias(node) && node.range) line = lines.linePos(node.range[0]).line;
      return visit.BREAK;
    },
  });
  return line;
}

/** Parses and validates a config file's text; never throws for bad input, it lists every problem, its path and line. */
export function parseConfig(text: string, source = 'factory.yml'): ConfigResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: true, lineCounter: lines });
  if (doc.errors.length > 0) {
    const details = doc.errors.map((e) => ({
      line: e.linePos?.[0]?.line,
      path: '(syntax)',
      message: e.message.split('\n')[0]!,
    }));
    return { ok: false, problems: details.map((d) => `${source}:${d.line ?? '?'}: ${d.message}`), details: [] };
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    // yaml refuses an alias that expands too far (a "billion laughs" file): name the first alias, the file stays unread.
    return {
      ok: false,
      problems: [`${source}:${firstAliasLine(doc, lines) ?? '?'}: ${errorMessage(err).split('\n')[0]}`],
    };
  }
  const raw: unknown = data ?? {};
  const result = configSchema.safeParse(raw, { reportInput: true });
  if (result.success) {
    const warnings = configWarnings(result.data).map((w) => ({
      // The key's own line (`codex:`), where an editor should jump, not its value's first line.
      line: lineOf(doc, lines, w.path.slice(0, -1), String(w.path.at(-1))),
      path: formatPath(w.path),
      message: w.message,
    }));
    return { ok: true, config: result.data, ...(warnings.length > 0 ? { warnings } : {}) };
  }
  const issues = [...result.error.issues];
  // The schema stops before its cross-section checks when a field is malformed; run them on the raw input too.
  const reported = new Set(issues.map((i) => `${i.path.join('.')}\0${i.message}`));
  for (const extra of repoChecks(raw)) {
    if (!reported.has(`${extra.path.join('.')}\0${extra.message}`))
      issues.push({ code: 'custom', input: undefined, ...extra } as z.core.$ZodIssue);
  }
  const details = problemsFromIssues(issues, doc, lines);
  return { ok: false, problems: details.map((d) => `${d.path}: ${d.message}`), details };
}

/**
 * `F: N problem(s)` then one indented line per problem, as `F:LINE: path: message` where the line is known: how every
 * command reports an invalid config.
 */
export function describeProblems(
  file: string,
  result: readonly string[] | { problems: string[]; details?: ConfigProblem[] },
  preface = '',
): string {
  const lines = isStringList(result)
    ? result
    : result.details?.length
      ? result.details.map((d) => formatProblem(file, d))
      : result.problems;
  return [`${file}: ${preface}${lines.length} problem(s)`, ...lines.map((p) => `  ${p}`)].join('\n');
}

const isStringList = (v: unknown): v is readonly string[] => Array.isArray(v);

/** Why a config file could not be read, with its absolute path and, when it is missing, how to get one. */
export function configReadProblem(file: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code ?? String(err);
  const hint =
    code === 'ENOENT'
      ? ': pass --config PATH (or set FACTORY_CONFIG), or write a starting config with `factory init`'
      : '';
  return `${resolve(file)}: cannot read config (${code})${hint}`;
}

export async function loadConfig(file: string): Promise<ConfigResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    return { ok: false, problems: [configReadProblem(file, err)] };
  }
  return parseConfig(text, file);
}
