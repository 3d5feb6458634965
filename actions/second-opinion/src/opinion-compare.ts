// Where two agents' reviews of one PR agree and disagree. Each review carries its findings in a hidden marker
// line, so the second can be compared with the first without parsing prose.
import type { Agent } from '../../lane-core/lane-settings.js';
import type { Conclusion, Finding } from '../../lane-core/findings.js';

export interface OpinionRecord {
  agent: Agent;
  sha: string;
  conclusion: Conclusion;
  findings: Array<Pick<Finding, 'path' | 'line' | 'severity' | 'message'>>;
}

const PREFIX = '<!-- factory:second-opinion ';

export function opinionMarker(record: OpinionRecord): string {
  return `${PREFIX}${Buffer.from(JSON.stringify(record)).toString('base64')} -->`;
}

export function readOpinion(body: string): OpinionRecord | undefined {
  const line = body.split('\n', 1)[0]!;
  if (!line.startsWith(PREFIX) || !line.endsWith(' -->')) return undefined;
  try {
    return JSON.parse(Buffer.from(line.slice(PREFIX.length, -4), 'base64').toString('utf8')) as OpinionRecord;
  } catch {
    return undefined;
  }
}

/** Findings about the same file within a few lines are the same finding, worded differently. */
const NEAR = 3;
const same = (a: { path: string; line: number }, b: { path: string; line: number }) => a.path === b.path && Math.abs(a.line - b.line) <= NEAR;

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
