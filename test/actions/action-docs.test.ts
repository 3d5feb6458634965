// Each action's README shows the inputs and outputs its action.yml declares, and each action reads exactly the
// inputs it declares: a new input added to one place and not the others fails here.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { INPUTS as AGENT_LANE_INPUTS } from '../../actions/agent-lane/src/lane-inputs.js';
import { INPUTS as SECOND_OPINION_INPUTS } from '../../actions/second-opinion/src/main.js';
import { actionDirs, actionTables, withTables } from '../../scripts/action-docs.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dirs = await actionDirs(root);
const read = (path: string) => readFile(join(root, path), 'utf8');

describe('action docs', () => {
  it('cover both actions', () => {
    expect(dirs).toEqual(['actions/agent-lane', 'actions/second-opinion']);
  });

  it.each(dirs)('%s/README.md shows the inputs and outputs of its action.yml (npm run docs:actions)', async (dir) => {
    const readme = await read(`${dir}/README.md`);
    expect(withTables(readme, actionTables(await read(`${dir}/action.yml`)), dir)).toBe(readme);
  });

  it('a changed description or a new input is a drift the check sees', async () => {
    const yml = await read('actions/agent-lane/action.yml');
    const readme = await read('actions/agent-lane/README.md');
    const changed = yml.replace('Which CLI to run: codex or claude.', 'Which CLI to run.');
    const added = yml.replace(
      /^outputs:$/m,
      '  new-input:\n    description: A new one.\n    required: false\noutputs:',
    );
    expect(withTables(readme, actionTables(changed), 'x')).not.toBe(readme);
    expect(actionTables(added)).toContain('| `new-input` | no |  | A new one. |');
  });

  it('a README without the generated block is refused, naming it', () => {
    expect(() => withTables('# x\n', actionTables('inputs: {}\n'), 'actions/x/README.md')).toThrow(
      /^actions\/x\/README\.md: no "<!-- action-docs:start/,
    );
  });

  it.each([
    ['actions/agent-lane', AGENT_LANE_INPUTS],
    ['actions/second-opinion', SECOND_OPINION_INPUTS],
  ] as const)('%s reads exactly the inputs its action.yml declares', async (dir, inputs) => {
    const declared = Object.keys(
      (parse(await read(`${dir}/action.yml`)) as { inputs: Record<string, unknown> }).inputs,
    );
    expect([...inputs].sort()).toEqual(declared.sort());
  });
});
