// Carries out a hand-back plan (hand-back-plan.ts) as the runner's user: reads the agent's tree, writes the checkout.
// It runs once every process of the agent's user is gone (endAgentProcesses), so the tree holds still while it is
// read; and it never runs git, nor anything else the agent's tree could configure. The checkout's own content came
// from the pull request: a symlinked folder there must not redirect a write, so every parent is checked to be a
// real folder, files land by rename from a fresh temporary name, and nothing follows a link.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, lstat, mkdir, open, readdir, readlink, rename, rmdir, symlink, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { isGitName, type HandBackStep, type TreeEntry, type TreeListing } from './hand-back-plan.js';

/** Past this many entries a listing stops: a tree that large is not a source change, and its listing alone would
 * hold the action's memory. */
export const LISTING_LIMIT = 1_000_000;

/** Every entry under `root` but `.git` (at any depth), without following a link. */
export async function listTree(root: string, limit = LISTING_LIMIT): Promise<TreeListing> {
  const top = await lstat(root);
  if (!top.isDirectory()) throw new Error(`${root} is not a directory`);
  const listing: TreeListing = new Map();
  const folders = [''];
  for (let folder = folders.pop(); folder !== undefined; folder = folders.pop()) {
    for (const name of (await readdir(join(root, folder))).sort()) {
      if (isGitName(name)) continue;
      const path = folder ? `${folder}/${name}` : name;
      const entry = await entryAt(join(root, path));
      listing.set(path, entry);
      if (listing.size > limit) throw new Error(`${root} holds more than ${limit} entries`);
      if (entry.kind === 'dir') folders.push(path);
    }
  }
  return listing;
}

async function entryAt(path: string): Promise<TreeEntry> {
  const s = await lstat(path);
  if (s.isDirectory()) return { kind: 'dir' };
  if (s.isSymbolicLink()) return { kind: 'link', target: await readlink(path) };
  if (s.isFile())
    return { kind: 'file', size: s.size, mtimeMs: s.mtimeMs, executable: (s.mode & 0o100) !== 0, uid: s.uid };
  return { kind: 'other' };
}

/** Applies the steps in order; returns what it had to leave (a folder that still holds a `.git`). */
export async function applyHandBack(steps: HandBackStep[], from: string, to: string): Promise<string[]> {
  const kept: string[] = [];
  for (const step of steps) {
    const dest = join(to, step.path);
    await realParents(to, step.path);
    switch (step.op) {
      case 'remove': {
        const s = await lstat(dest).catch(() => undefined);
        if (!s) break;
        if (s.isDirectory()) {
          // Its listed children are gone already; what is left is what the listing never showed: a `.git`.
          await rmdir(dest).catch((err: NodeJS.ErrnoException) => {
            if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
            kept.push(`${step.path}: it still holds what the agent's copy never had (a .git)`);
          });
        } else await unlink(dest);
        break;
      }
      case 'mkdir':
        await mkdir(dest).catch(async (err: NodeJS.ErrnoException) => {
          if (err.code !== 'EEXIST' || !(await lstat(dest)).isDirectory()) throw err;
        });
        break;
      case 'write':
        await copyFile(join(from, step.path), dest, step.size, step.executable);
        break;
      case 'link': {
        const temp = tempName(dest);
        await symlink(step.target, temp);
        await rename(temp, dest);
        break;
      }
      case 'chmod': {
        const s = await lstat(dest);
        if (!s.isFile()) throw new Error(`${dest} is no longer a regular file`);
        await chmod(dest, withExecutable(s.mode, step.executable));
        break;
      }
    }
  }
  return kept;
}

/** Every folder between `root` and the entry is a real folder: a symlink among them would carry the write elsewhere. */
async function realParents(root: string, path: string): Promise<void> {
  const parts = path.split('/').slice(0, -1);
  for (let i = 1; i <= parts.length; i++) {
    const folder = join(root, ...parts.slice(0, i));
    const s = await lstat(folder);
    if (!s.isDirectory())
      throw new Error(`${folder} is not a real directory (a symlink?); nothing is written through it`);
  }
}

const tempName = (dest: string) => join(dirname(dest), `.${randomBytes(6).toString('hex')}.hand-back`);

/** x where r is, as git checks a file out; none when not executable. */
const withExecutable = (mode: number, executable: boolean) =>
  executable ? (mode & 0o7777) | ((mode & 0o444) >> 2) : mode & 0o7666;

/** Copies exactly `size` bytes of a regular file (never a link's target) to a fresh file renamed over `dest`. */
async function copyFile(src: string, dest: string, size: number, executable: boolean): Promise<void> {
  const input = await open(src, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  const temp = tempName(dest);
  try {
    const s = await input.stat();
    if (!s.isFile() || s.size !== size) throw new Error(`${src} changed while it was handed back`);
    const output = await open(
      temp,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      executable ? 0o777 : 0o666,
    );
    if (size === 0) await output.close();
    else
      await pipeline(input.createReadStream({ start: 0, end: size - 1, autoClose: false }), output.createWriteStream());
    await rename(temp, dest);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  } finally {
    await input.close();
  }
}
