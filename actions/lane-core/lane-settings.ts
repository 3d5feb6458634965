// The one typed description of a lane run, parsed from raw action inputs at the edge. Every problem names the
// input it came from, in the words a workflow author wrote (`timeout-minutes`, not `timeoutMinutes`).
import { resolve } from 'node:path';
import { z } from 'zod';
import { AGENTS, type Agent } from '../../lane-contract/agents.js';
import { splitArguments } from './argument-list.js';
import type { Budget } from './lane-budget.js';

export { AGENTS, type Agent };
export type Mode = 'review' | 'build';
export const REPORT_TARGETS = ['summary', 'comment', 'check'] as const;
export type ReportTarget = (typeof REPORT_TARGETS)[number];

export interface LaneSettings {
  agent: Agent;
  prompt: { text: string } | { file: string };
  mode: Mode;
  model?: string;
  effort?: string;
  /** What the inputs ask of the budget (timeout-minutes, max-turns, max-tokens, max-cost-usd); the lane profile's
   * budget is the ceiling they are checked against when the run starts (lane-budget.ts). */
  budget: Partial<Budget>;
  mcpConfig?: string;
  allowedTools: string[];
  workingDirectory: string;
  extraArgs: string[];
  githubToken?: string;
  /** Whether the agent's own environment gets GH_TOKEN; off by default so a prompt injection cannot use it. */
  agentGithubToken: boolean;
  report: ReportTarget[];
  /** Path of the JSON schema file the answer must validate against. */
  outputSchema?: string;
  /** The same schema given inline (codex-action's `output-schema`); the run writes it to a file for codex. */
  outputSchemaJson?: string;
  /** claude: a settings JSON text or file for --settings. codex: a config.toml fragment, applied as --config overrides. */
  cliSettings?: string;
}

/** Raw inputs as the runner hands them over: strings, empty when unset. */
export type RawInputs = Record<string, string | undefined>;

const got = (v: unknown) => JSON.stringify(v);
const optional = z
  .string()
  .trim()
  .transform((s) => (s === '' ? undefined : s));
const choice = <T extends string>(values: readonly T[]) =>
  z
    .string()
    .trim()
    .toLowerCase()
    .pipe(z.enum(values as [T, ...T[]], { error: (i) => `must be ${values.join(' or ')}, got ${got(i.input)}` }));
/** A boolean action input: true or false, empty for false. */
export const booleanInput = z
  .string()
  .trim()
  .toLowerCase()
  .transform((s, ctx) => {
    if (s === '' || s === 'false') return false;
    if (s === 'true') return true;
    ctx.addIssue({ code: 'custom', message: `must be true or false, got ${got(s)}` });
    return z.NEVER;
  });

/** `timeout-minutes` of either action; empty leaves it to the lane profile's budget (else 30). Capped at a day, which
 * also keeps the deadline inside what setTimeout can hold (about 24.8 days; beyond that it fires at once). */
export const timeoutMinutesInput = z
  .string()
  .trim()
  .transform((s, ctx) => {
    if (s === '') return undefined;
    const n = Number(s);
    if (!Number.isFinite(n) || n <= 0 || n > 24 * 60) {
      ctx.addIssue({ code: 'custom', message: `must be a number of minutes between 0 and 1440, got ${got(s)}` });
      return z.NEVER;
    }
    return n;
  });

/** A budget input: empty for the profile's limit (or none), else a positive number, whole when `integer`. */
const limitInput = (what: string, integer: boolean) =>
  z
    .string()
    .trim()
    .transform((s, ctx) => {
      if (s === '') return undefined;
      const n = Number(s);
      if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
        ctx.addIssue({ code: 'custom', message: `must be a positive ${what}, got ${got(s)}` });
        return z.NEVER;
      }
      return n;
    });

const schema = z
  .object({
    agent: choice(AGENTS),
    prompt: optional,
    'prompt-file': optional,
    mode: z
      .string()
      .trim()
      .transform((s) => s || 'review')
      .pipe(choice(['review', 'build'] as const)),
    model: optional,
    effort: optional.pipe(
      z
        .enum(['minimal', 'low', 'medium', 'high', 'xhigh'], {
          error: (i) => `must be minimal, low, medium, high or xhigh, got ${got(i.input)}`,
        })
        .optional(),
    ),
    'timeout-minutes': timeoutMinutesInput,
    'max-turns': limitInput('whole number of turns', true),
    'max-tokens': limitInput('whole number of tokens', true),
    'max-cost-usd': limitInput('amount of US dollars', false),
    'mcp-config': optional,
    'allowed-tools': z.string().transform((s) =>
      s
        .split(/[,\n]/)
        .map((t) => t.trim())
        .filter(Boolean),
    ),
    'working-directory': optional,
    'extra-args': z.string().transform((s, ctx) => {
      try {
        return splitArguments(s);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }),
    'github-token': optional,
    'agent-github-token': booleanInput,
    report: optional.transform((s, ctx) => {
      if (s === undefined) return undefined;
      const targets = s
        .split(',')
        .map((t) => t.trim().toLowerCase())
        .filter(Boolean);
      const unknown = targets.filter((t) => !(REPORT_TARGETS as readonly string[]).includes(t));
      if (unknown.length) {
        ctx.addIssue({
          code: 'custom',
          message: `must be a comma list of summary, comment, check; unknown ${got(unknown.join(','))}`,
        });
        return z.NEVER;
      }
      return targets as ReportTarget[];
    }),
    'output-schema': optional.transform((s, ctx) => {
      if (s === undefined) return undefined;
      try {
        JSON.parse(s);
        return s;
      } catch (err) {
        const hint = s.startsWith('{')
          ? (err as Error).message
          : 'it takes the schema itself as inline JSON; for a file use output-schema-file';
        ctx.addIssue({ code: 'custom', message: `is not JSON: ${hint}` });
        return z.NEVER;
      }
    }),
    'output-schema-file': optional,
    settings: optional,
  })
  .check((ctx) => {
    const v = ctx.value;
    if (v['output-schema'] !== undefined && v['output-schema-file'] !== undefined) {
      ctx.issues.push({
        code: 'custom',
        input: v,
        path: ['output-schema'],
        message: 'and output-schema-file both given; give one',
      });
    }
    if ((v.prompt === undefined) === (v['prompt-file'] === undefined)) {
      ctx.issues.push({
        code: 'custom',
        input: v,
        path: ['prompt'],
        message: 'give exactly one of prompt or prompt-file',
      });
    }
  });

export interface SettingsContext {
  /** The workspace the runner checked out into; relative paths resolve against it. */
  workspace: string;
  /** PR events default to every report; other events to the job summary only. */
  isPullRequest: boolean;
}

/** Parses inputs into settings, or throws one Error listing every bad input by name. */
export function parseLaneSettings(raw: RawInputs, context: SettingsContext): LaneSettings {
  const input = Object.fromEntries(Object.keys(schema.def.shape).map((k) => [k, raw[k] ?? '']));
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `input "${String(i.path[0] ?? '?')}" ${i.message}`);
    throw new Error(problems.join('\n'));
  }
  const v = parsed.data;
  return {
    agent: v.agent,
    prompt: v.prompt !== undefined ? { text: v.prompt } : { file: v['prompt-file']! },
    mode: v.mode,
    model: v.model,
    effort: v.effort,
    budget: withoutUnset({
      wallClockMinutes: v['timeout-minutes'],
      turns: v['max-turns'],
      tokens: v['max-tokens'],
      costUsd: v['max-cost-usd'],
    }),
    mcpConfig: v['mcp-config'],
    allowedTools: v['allowed-tools'],
    workingDirectory: resolve(context.workspace, v['working-directory'] ?? '.'),
    extraArgs: v['extra-args'],
    githubToken: v['github-token'],
    agentGithubToken: v['agent-github-token'],
    report: v.report ?? (context.isPullRequest ? ['summary', 'comment', 'check'] : ['summary']),
    outputSchema: v['output-schema-file'],
    outputSchemaJson: v['output-schema'],
    cliSettings: v.settings,
  };
}

const withoutUnset = <T extends object>(o: T): Partial<T> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
