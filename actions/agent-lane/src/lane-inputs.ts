// agent-lane's inputs beyond the lane core's: where its reports go and who may start it. Parsed once, with each
// problem naming its input. INPUTS is every input main.ts reads; a test holds it equal to action.yml.
import { z } from 'zod';
import type { Agent, RawInputs } from '../../lane-core/lane-settings.js';

export const INPUTS = [
  'agent',
  'prompt',
  'prompt-file',
  'mode',
  'model',
  'effort',
  'timeout-minutes',
  'max-turns',
  'max-tokens',
  'max-cost-usd',
  'mcp-config',
  'allowed-tools',
  'working-directory',
  'extra-args',
  'github-token',
  'agent-github-token',
  'report',
  'output-schema',
  'output-schema-file',
  'settings',
  'comment-key',
  'check-name',
  'check-actor',
  'allowed-bots',
  'allow-users',
  'release-timeout-seconds',
] as const;

export interface LaneReportInputs {
  /** Sticky-comment key: two workflows running the same agent on one PR each keep their own comment. */
  commentKey: string;
  checkName: string;
  actor: ActorPolicy;
}

export interface ActorPolicy {
  /** auto: check event-triggered runs, not workflow_dispatch or schedule (only people with write access start those). */
  mode: 'auto' | 'always' | 'never';
  allowedBots: string[];
  allowUsers: string[];
}

const got = (v: unknown) => JSON.stringify(v);
const list = z.string().transform((s) =>
  s
    .split(/[,\n]/)
    .map((t) => t.trim().toLowerCase())
    .filter(Boolean),
);

const schema = z.object({
  'comment-key': z
    .string()
    .trim()
    .refine((s) => !/-->|\n/.test(s), { error: 'must not contain "-->" or a newline (it goes in an HTML comment)' }),
  'check-name': z.string().trim().max(255, { error: "must be at most 255 characters (GitHub's limit)" }),
  'check-actor': z
    .string()
    .trim()
    .toLowerCase()
    .transform((s, ctx) => {
      const mode = ({ '': 'auto', auto: 'auto', true: 'always', false: 'never' } as const)[
        s as '' | 'auto' | 'true' | 'false'
      ];
      if (!mode) {
        ctx.addIssue({ code: 'custom', message: `must be auto, true or false, got ${got(s)}` });
        return z.NEVER;
      }
      return mode;
    }),
  'allowed-bots': list,
  'allow-users': list,
});

export function parseLaneReportInputs(raw: RawInputs, agent: Agent): LaneReportInputs {
  const parsed = schema.safeParse(Object.fromEntries(Object.keys(schema.shape).map((k) => [k, raw[k] ?? ''])));
  if (!parsed.success)
    throw new Error(parsed.error.issues.map((i) => `input "${String(i.path[0] ?? '?')}" ${i.message}`).join('\n'));
  const v = parsed.data;
  return {
    commentKey: v['comment-key'] || `agent-lane:${agent}`,
    checkName: v['check-name'] || `agent-lane / ${agent}`,
    actor: { mode: v['check-actor'], allowedBots: v['allowed-bots'], allowUsers: v['allow-users'] },
  };
}
