// The second-opinion action's inputs, parsed once; each problem names its input.
import { z } from 'zod';
import { AGENTS, booleanInput, timeoutMinutesInput, type Agent } from '../../lane-core/lane-settings.js';

export interface OpinionInputs {
  githubToken: string;
  defaultAgent: Agent;
  allowedBots: string[];
  prNumber?: number;
  expectedSha?: string;
  /** Empty: the lane profile's wall-clock budget, else 30 minutes. */
  timeoutMinutes?: number;
  maxDiffBytes: number;
  /** Review a ready pull request's every new head without being asked (the check is required). */
  automatic: boolean;
}

const got = (v: unknown) => JSON.stringify(v);
const positive = (what: string, fallback: number) =>
  z
    .string()
    .trim()
    .transform((s, ctx) => {
      const n = s === '' ? fallback : Number(s);
      if (!Number.isFinite(n) || n <= 0) {
        ctx.addIssue({ code: 'custom', message: `must be a positive ${what}, got ${got(s)}` });
        return z.NEVER;
      }
      return n;
    });

const schema = z.object({
  'github-token': z
    .string()
    .trim()
    .min(1, { error: 'is required: the review, check run and reactions are posted with it' }),
  'default-agent': z
    .string()
    .trim()
    .toLowerCase()
    .transform((s) => s || 'codex')
    .pipe(z.enum(AGENTS, { error: (i) => `must be codex or claude, got ${got(i.input)}` })),
  'allowed-bots': z.string().transform((s) =>
    s
      .split(',')
      .map((b) => b.trim())
      .filter(Boolean),
  ),
  'pr-number': z
    .string()
    .trim()
    .transform((s, ctx) => {
      if (s === '') return undefined;
      const n = Number(s);
      if (!Number.isInteger(n) || n <= 0) {
        ctx.addIssue({ code: 'custom', message: `must be a pull request number, got ${got(s)}` });
        return z.NEVER;
      }
      return n;
    }),
  'expected-sha': z
    .string()
    .trim()
    .transform((s) => s || undefined),
  'timeout-minutes': timeoutMinutesInput,
  'max-diff-kb': positive('number of KiB', 200),
  automatic: booleanInput,
});

export function parseOpinionInputs(raw: Record<string, string | undefined>): OpinionInputs {
  const input = Object.fromEntries(Object.keys(schema.shape).map((k) => [k, raw[k] ?? '']));
  const parsed = schema.safeParse(input);
  if (!parsed.success)
    throw new Error(parsed.error.issues.map((i) => `input "${String(i.path[0])}" ${i.message}`).join('\n'));
  const v = parsed.data;
  return {
    githubToken: v['github-token'],
    defaultAgent: v['default-agent'],
    allowedBots: v['allowed-bots'],
    prNumber: v['pr-number'],
    expectedSha: v['expected-sha'],
    timeoutMinutes: v['timeout-minutes'],
    maxDiffBytes: Math.round(v['max-diff-kb'] * 1024),
    automatic: v.automatic,
  };
}
