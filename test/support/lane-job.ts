// A lane job's disk and environment for the integration tests: the private auth copies, a checked-out
// workspace, and the variables the lane profile and the runner set, pointed at the loopback fakes.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { offlineCliEnv, writeLaneHomes, type LaneHomes } from './lane-homes.js';

export interface LaneJob extends LaneHomes {
  root: string;
  workspace: string;
}

export function freshLaneJob(modelServerUrl: string): LaneJob {
  const root = mkdtempSync(join(tmpdir(), 'lane-job-'));
  const homes = writeLaneHomes(join(root, 'lane'), modelServerUrl);
  const workspace = join(root, 'workspace');
  mkdirSync(join(workspace, 'src'), { recursive: true });
  writeFileSync(join(workspace, 'src', 'app.ts'), 'export const answer = 41;\n');
  execFileSync('git', ['init', '-q', workspace]);
  mkdirSync(join(root, 'home'));
  return { ...homes, root, workspace };
}

export function laneJobEnv(
  job: LaneJob,
  agent: 'codex' | 'claude',
  urls: { model: string; github: string },
): Record<string, string> {
  return {
    ...offlineCliEnv(urls.model),
    HOME: join(job.root, 'home'),
    GITHUB_WORKSPACE: job.workspace,
    GITHUB_API_URL: urls.github,
    FACTORY_LANE: agent,
    FACTORY_PROFILE: `${agent}-lane`,
    FACTORY_CODEX_HOME: job.codexHome,
    FACTORY_CLAUDE_CONFIG_DIR: job.claudeConfigDir,
    FACTORY_CLAUDE_JSON: job.claudeJson,
  };
}
