// The third-party actions the workflows may use, each at the commit of its current node24 release. GitHub cannot be
// reached from here, so each SHA was read from a copy of the action's own repository (its tag, peeled to the commit,
// and `runs.using: node24` in action.yml at that commit); pnpm/action-setup's tags are annotated, so its pin is the
// peeled commit, not the tag object. Dependabot (.github/dependabot.yml) proposes newer pins; a PR that takes one
// updates this table in the same change, or the workflow test fails.
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import type { Finding } from './workflow-policy.js';

export interface ActionPin {
  sha: string;
  version: string;
}

export const ACTION_PINS: Readonly<Record<string, ActionPin>> = {
  'actions/checkout': { sha: '3d3c42e5aac5ba805825da76410c181273ba90b1', version: 'v7.0.1' },
  'actions/setup-node': { sha: '820762786026740c76f36085b0efc47a31fe5020', version: 'v7.0.0' },
  'actions/setup-python': { sha: '5fda3b95a4ea91299a34e894583c3862153e4b97', version: 'v7.0.0' },
  'actions/upload-artifact': { sha: 'bbbca2ddaa5d8feaa63e36b76fdaad77386f024f', version: 'v7.0.0' },
  'pnpm/action-setup': { sha: '0977fd99725f1db4007ccb2928dbb4e90d06cc86', version: 'v6.0.10' },
};

/**
 * Each SHA-pinned `uses:` must be an action of the table at its pinned commit, with the version as the line's
 * comment (`# v7.0.1`), which is what Dependabot reads and rewrites when it proposes the next release.
 */
export function checkPinVersions(text: string, file: string, firstParty: string): Finding[] {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  const sourceLines = text.split('\n');
  const findings: Finding[] = [];
  const jobs = doc.get('jobs', true);
  if (!isMap(jobs)) return findings;
  const check = (where: string, node: Node | undefined) => {
    if (!isScalar(node) || typeof node.value !== 'string') return;
    const uses = node.value;
    if (
      uses.startsWith('./') ||
      uses.startsWith('docker://') ||
      uses.toLowerCase().startsWith(`${firstParty.toLowerCase()}/`)
    )
      return;
    const line = lines.linePos(node.range?.[0] ?? 0).line;
    const [action, ref] = uses.split('@') as [string, string | undefined];
    const pin = ACTION_PINS[action];
    const problem = !pin
      ? `${action} is not in the table of reviewed actions (test/support/action-pins.ts)`
      : ref !== pin.sha
        ? `${uses} is not the reviewed ${pin.version} commit ${pin.sha}`
        : !new RegExp(`#\\s*${pin.version.replace(/\./g, '\\.')}\\s*$`).test(sourceLines[line - 1] ?? '')
          ? `${action} pinned without the "# ${pin.version}" comment Dependabot keeps current`
          : undefined;
    if (problem) findings.push({ file, line, rule: 'pin-version', message: `${where}: ${problem}` });
  };
  for (const pair of jobs.items) {
    if (!isScalar(pair.key) || !isMap(pair.value)) continue;
    const steps = pair.value.get('steps', true);
    const id = String(pair.key.value);
    if (!isSeq(steps)) continue;
    steps.items.forEach((step, index) => {
      if (isMap(step)) check(`jobs.${id}.steps[${index}].uses`, step.get('uses', true) as Node | undefined);
    });
  }
  return findings;
}
