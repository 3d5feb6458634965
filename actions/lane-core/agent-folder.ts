// Folders the agent must reach when it runs as its own user: under the system tmpdir, never under RUNNER_TEMP, which
// the action closes to everyone but the runner's user (agent-user.ts). Shared with the agent through its group.
import { chmod, chown, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AgentUser } from './agent-user.js';

/**
 * A fresh folder named `prefix…` under tmpdir. With an agent user it belongs to the agent's group, setgid so what is
 * made inside stays in that group: 2750 when the agent only reads it (a review's checkout), 2770 when it writes too
 * (its HOME and TMPDIR). Without one it stays 0700, the runner's alone.
 */
export async function openAgentFolder(
  prefix: string,
  user: AgentUser | undefined,
  access: 'read' | 'write',
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  if (!user) return dir;
  await chown(dir, -1, user.gid);
  await chmod(dir, access === 'write' ? 0o2770 : 0o2750);
  return dir;
}
