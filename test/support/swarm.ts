// A single-node swarm for the tests and the bench. The engine is shared: when it is already a swarm manager it is
// used as it is and left so; otherwise the first user initialises it and the last one (by live process) leaves it,
// so tests running in parallel never pull the swarm from under each other and the engine ends as it began.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withFileLock } from '../../lane-contract/file-lock.js';

const STATE = join(tmpdir(), 'factory-test-swarm.json');

interface SwarmUse {
  initialisedHere: boolean;
  users: Array<{ pid: number; token: string }>;
}

// Per module instance: vitest's workers may be threads of one process.
const me = { pid: process.pid, token: randomUUID() };

const swarmState = () =>
  execFileSync('docker', ['info', '--format', '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}'], {
    encoding: 'utf8',
  }).trim();
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const read = (): SwarmUse => {
  try {
    return JSON.parse(readFileSync(STATE, 'utf8')) as SwarmUse;
  } catch {
    return { initialisedHere: false, users: [] };
  }
};

/** Makes this engine a swarm manager for the calling process (until releaseSwarm). */
export async function useSwarm(): Promise<void> {
  await withFileLock(STATE, async () => {
    const use = read();
    use.users = use.users.filter((u) => alive(u.pid));
    const [state, manager] = swarmState().split(' ');
    if (state !== 'active') {
      execFileSync('docker', ['swarm', 'init', '--advertise-addr', '127.0.0.1'], { stdio: 'ignore' });
      use.initialisedHere = true;
    } else if (manager !== 'true') {
      throw new Error('this engine is a swarm worker: the swarm tests need a manager');
    }
    if (!use.users.some((u) => u.token === me.token)) use.users.push(me);
    writeFileSync(STATE, JSON.stringify(use));
  });
}

/** Leaves the swarm only when the tests initialised it and no other live test process still uses it. */
export async function releaseSwarm(): Promise<void> {
  await withFileLock(STATE, async () => {
    const use = read();
    use.users = use.users.filter((u) => u.token !== me.token && alive(u.pid));
    if (use.users.length === 0 && use.initialisedHere) {
      execFileSync('docker', ['swarm', 'leave', '--force'], { stdio: 'ignore' });
      use.initialisedHere = false;
    }
    writeFileSync(STATE, JSON.stringify(use));
  });
}
