// Where two agents' reviews of one PR agree and disagree. Each review carries its findings in a hidden marker
// line, so the second can be compared with the first without parsing prose.
import { z } from 'zod';
import { AGENTS, type Agent } from '../../lane-core/lane-settings.js';
import type { Conclusion, Finding } from '../../lane-core/findings.js';

export interface OpinionRecord {
  agent: Agent;
  sha: string;
  conclusion: Conclusion;
  findings: Array<Pick<Finding, 'path' | 'line' | 'severity' | 'message'>>;
}

const PREFIX = '<!-- factory:second-opinion ';

// Anyone who can review the PR can post a body that starts with the marker: a record is read only when it has
// the shape this file writes, so a malformed one is ignored instead of breaking the comparison mid-flow.
const RECORD = z.object({
  agent: z.enum(AGENTS),
  sha: z.string(),
  conclusion: z.enum(['success', 'failure', 'neutral']),
  findings: z.array(
    z.object({
      path: z.string(),
      line: z.number().int(),
      severity: z.enum(['failure', 'warning', 'notice']),
      message: z.string(),
    }),
  ),
});

export function opinionMarker(record: OpinionRecord): string {
  return `${PREFIX}${Buffer.from(JSON.stringify(record)).toString('base64')} -->`;
}

export function readOpinion(body: string): OpinionRecord | undefined {
  const line = body.split('\n', 1)[0]!;
  if (!line.startsWith(PREFIX) || !line.endsWith(' -->')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(line.slice(PREFIX.length, -4), 'base64').toString('utf8'));
  } catch {
    return undefined;
  }
  const parsed = RECORD.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/** Findings about the same file within a few lines are the same finding, worded differently. */
const NEAR = 3;
const same = (a: { path: string; line: number }, b: { path: string; line: number }) =>
  a.path === b.path && Math.abs(a.line - b.line) <= NEAR;

export interface Comparison {
  other: Agent;
  sameConclusion: boolean;
  agreed: OpinionRecord['findings'];
  onlyThis: OpinionRecord['findings'];
  onlyOther: OpinionRecord['findings'];
}

export function compareOpinions(mine: OpinionRecord, other: OpinionRecord): Comparison {
  return {
    other: other.agent,
    sameConclusion: mine.conclusion === other.conclusion,
    agreed: mine.findings.filter((f) => other.findings.some((o) => same(f, o))),
    onlyThis: mine.findings.filter((f) => !other.findings.some((o) => same(f, o))),
    onlyOther: other.findings.filter((o) => !mine.findings.some((f) => same(f, o))),
  };
}
