// A build agent's own tree: a copy of the checkout's working tree, with a git repository of its own cloned from the
// checkout. The agent writes only there. Every later step of the job runs as the runner's user in the checkout, and
// git there obeys `.git/config` (core.fsmonitor runs on `git status`, which actions/checkout's post step runs), so an
// agent that could write the checkout's `.git` could run code with the job's token. The runner's user never runs git
// in this tree: the copy and the clone are made as the agent, and only working-tree files come back (hand-back.ts).
import { spawn } from 'node:child_process';
import { chmod, lstat, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { openAgentFolder } from './agent-folder.js';
import { agentHelperEnv, asAgent, endAgentProcesses, runAsAgent, type AgentUser } from './agent-user.js';
import { handBackPlan, HAND_BACK_LIMITS, type HandBackLimits, type TreeListing } from './hand-back-plan.js';
import { applyHandBack, listTree } from './hand-back.js';

export interface AgentTree {
  /** Where the agent works: its copy of the checkout. */
  dir: string;
  /** The runner's folder around it, closed to the agent's writes so it cannot swap its tree for a link. */
  parent: string;
  /** The tree as copied, before the agent ran: what its changes are measured against. */
  before: TreeListing;
}

/** As the agent: its top folder, the clone (when the checkout is a repository's top), the files from the runner's
 * tar stream on stdin, an index matching HEAD, and read access for the runner's group to all of it. */
const MAKE_TREE = [
  'set -e',
  'src=$1 dst=$2 git=$3',
  'mkdir -- "$dst"',
  `if [ "$git" = 1 ]; then git -c 'safe.directory=*' clone -q --no-checkout --no-hardlinks -u "git -c 'safe.directory=*' upload-pack" -- "$src" "$dst" </dev/null; fi`,
  'tar -x -C "$dst" -f -',
  'if [ "$git" = 1 ] && git -C "$dst" rev-parse -q --verify HEAD >/dev/null; then git -C "$dst" reset -q </dev/null; fi',
  'chmod -R g+rX -- "$dst"',
].join('\n');

/** How long the copy may take: a checkout with its dependencies installed is large. */
const COPY_TIMEOUT_MS = 10 * 60_000;

export async function openAgentTree(checkout: string, user: AgentUser): Promise<AgentTree> {
  const parent = await openAgentFolder('agent-tree-', user, 'write');
  const dir = join(parent, 'tree');
  const isRepository = await lstat(join(checkout, '.git')).then(
    () => true,
    () => false,
  );
  try {
    await copyAsAgent(checkout, dir, isRepository, user);
    await chmod(parent, 0o2750);
    return { dir, parent, before: await listTree(dir) };
  } catch (err) {
    await closeAgentTree({ dir, parent }, user);
    throw new Error(`cannot copy ${checkout} for the agent: ${(err as Error).message}`);
  }
}

/** The runner's tar reads the checkout (never its `.git`) into the agent's, which writes the agent's files. */
function copyAsAgent(checkout: string, dir: string, isRepository: boolean, user: AgentUser): Promise<void> {
  return new Promise((resolve, reject) => {
    const pack = spawn('tar', ['-c', '--exclude=.git', '-C', checkout, '-f', '-', '.'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: COPY_TIMEOUT_MS,
      killSignal: 'SIGKILL',
    });
    const make = asAgent(user, '/bin/sh', ['-c', MAKE_TREE, 'make-tree', checkout, dir, isRepository ? '1' : '0']);
    const unpack = spawn(make.command, make.args, {
      stdio: ['pipe', 'ignore', 'pipe'],
      timeout: COPY_TIMEOUT_MS,
      killSignal: 'SIGKILL',
      env: agentHelperEnv(),
    });
    pack.stdout.pipe(unpack.stdin);
    unpack.stdin.on('error', () => undefined); // an unpack that failed first: its own exit says why
    const errors: string[] = [];
    pack.stderr.on('data', (c: Buffer) => errors.push(c.toString('utf8')));
    unpack.stderr.on('data', (c: Buffer) => errors.push(c.toString('utf8')));
    const exits = [pack, unpack].map(
      (child) =>
        new Promise<number | null>((done) => {
          child.on('error', (err) => {
            errors.push(err.message);
            done(-1);
          });
          child.on('close', done);
        }),
    );
    void Promise.all(exits).then(([packed, unpacked]) => {
      if (packed === 0 && unpacked === 0) resolve();
      else
        reject(
          new Error(errors.join('').trim().split('\n').slice(-3).join('; ') || `tar exited ${packed}/${unpacked}`),
        );
    });
  });
}

export interface HandBackResult {
  /** Entries written, made or removed in the checkout. */
  changed: number;
  bytes: number;
  /** What stayed behind, and why: links out of the tree, FIFOs, a folder holding a `.git`. */
  skipped: string[];
}

/** Ends every process of the agent's user, then writes the agent's working-tree changes into the checkout. */
export async function handBackTree(
  tree: AgentTree,
  checkout: string,
  user: AgentUser,
  limits: HandBackLimits = HAND_BACK_LIMITS,
): Promise<HandBackResult> {
  await endAgentProcesses(user);
  // Its own files the agent may have closed (0600 from mktemp): reopened to its group, as the agent, before reading.
  runAsAgent(user, 'chmod', ['-R', 'g+rX', '--', tree.dir], COPY_TIMEOUT_MS);
  const plan = handBackPlan(tree.before, await listTree(tree.dir), user.uid, limits);
  if ('problem' in plan) throw new Error(`nothing of the agent's work was handed back to ${checkout}: ${plan.problem}`);
  const kept = await applyHandBack(plan.steps, tree.dir, checkout);
  return { changed: plan.steps.length, bytes: plan.bytes, skipped: [...plan.skipped, ...kept] };
}

/** What the agent made is its own to remove; the runner's folder around it is the runner's. */
export async function closeAgentTree(tree: Pick<AgentTree, 'dir' | 'parent'>, user: AgentUser): Promise<void> {
  runAsAgent(user, 'rm', ['-rf', '--', tree.dir], COPY_TIMEOUT_MS);
  // A leftover in the container's /tmp goes with the container; it must not hide how the run ended.
  await rm(tree.parent, { recursive: true, force: true }).catch(() => undefined);
}
