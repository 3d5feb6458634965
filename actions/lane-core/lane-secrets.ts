// Every secret value the lane profile put in the job: the variables the controller names (env-file values, MCP
// token variables) and what the secrets folders hold. Read before the agent starts, so each is masked and scrubbed
// from every report; the runner's own masker never sees what the action posts through the API.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readJobFile } from '../../lane-contract/job-file.js';
import { LANE_VARIABLES } from '../../lane-contract/lane-variables.js';

/** More than any secrets folder holds; a folder stuffed with files must not stall the job start. */
const MAX_FILES = 200;

const list = (value: string | undefined) =>
  (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** Values of KEY=VALUE lines (quotes removed), and lines that look like a bare token (no spaces). */
export function valuesInFile(text: string): string[] {
  const values: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const pair = /^(?:export\s+)?[A-Za-z_][A-Za-z0-9_]*\s*=\s*(.*)$/.exec(line);
    if (pair) values.push(pair[1]!.replace(/^(['"])(.*)\1$/, '$2'));
    else if (!/\s/.test(line)) values.push(line);
  }
  return values;
}

export async function laneSecrets(env: Record<string, string | undefined>): Promise<string[]> {
  const found = list(env[LANE_VARIABLES.secretVars]).map((name) => env[name] ?? '');
  for (const dir of list(env[LANE_VARIABLES.secretDirs])) {
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names.slice(0, MAX_FILES)) {
      const file = await readJobFile(join(dir, name)).catch(() => undefined);
      if (file?.kind === 'text') found.push(...valuesInFile(file.text));
    }
  }
  return found.filter(Boolean);
}
