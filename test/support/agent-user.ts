// A lane's two users on the host, as the lane image sets them up: the runner's user (which runs the action) and the
// agent's user, with the switching helper only the runner's user may run. The test process is root, as a container
// engine is; each user is a plain uid with no capabilities of its own.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LaneJob } from './lane-job.js';

export const RUNNER_UID = 61001;
let fixtures = 0;

/** Each fixture its own agent uid: the action kills every process of that user after a run (`kill -1` as it), which
 * must not reach another test's agent running beside it, in this process or another. */
function freshAgentUid(): number {
  return 100_000 + process.pid * 64 + (fixtures++ % 64);
}

export interface AgentUserFixture {
  /** The agent's uid, also its group's id. */
  agentUid: number;
  /** The lane contract variables that name the agent user and the helper. */
  env: Record<string, string>;
  /** How runAction starts the action: as the runner's user, a member of the agent's group. */
  runAs: { uid: number; gid: number; groups: number[] };
}

/** util-linux setpriv with cap_setuid,cap_setgid, group-owned by the runner's user and closed to everyone else. */
export function agentUserFixture(): AgentUserFixture {
  const dir = mkdtempSync(join(tmpdir(), 'agent-exec-'));
  chmodSync(dir, 0o755);
  const exec = join(dir, 'agent-exec');
  copyFileSync('/usr/bin/setpriv', exec);
  chownSync(exec, 0, RUNNER_UID);
  chmodSync(exec, 0o750);
  execFileSync('setcap', ['cap_setuid,cap_setgid+ep', exec]);
  const agentUid = freshAgentUid();
  return {
    agentUid,
    env: { FACTORY_AGENT_USER: `${agentUid}:${agentUid}`, FACTORY_AGENT_EXEC: exec },
    runAs: { uid: RUNNER_UID, gid: RUNNER_UID, groups: [agentUid] },
  };
}

/** Gives a lane job's files to the runner's user as a runner would have them: its lane copies closed (0700) as the
 * controller mounts them, its workspace a checkout the runner made. */
export function handLaneToRunner(job: LaneJob): void {
  execFileSync('chown', ['-R', `${RUNNER_UID}:${RUNNER_UID}`, job.root]);
  chmodSync(job.root, 0o755);
  for (const dir of [job.codexHome, job.claudeConfigDir, join(job.root, 'lane'), join(job.root, 'home')])
    chmodSync(dir, 0o700);
}
