// What a build agent's tree hands back to the checkout, decided whole from two listings of that tree: as it was
// copied from the checkout, and as the agent left it. Only working-tree entries travel: regular files (content and
// executable bit), directories and symlinks (as links). `.git` never appears in a listing, so nothing here can
// reach git's config, hooks or index; a link that points out of the tree stays behind, so a later step that follows
// it (an artifact upload, a `cat`) cannot be led to the runner's own files.
import { posix } from 'node:path';

export type TreeEntry =
  | { kind: 'dir' }
  | { kind: 'file'; size: number; mtimeMs: number; executable: boolean; uid: number }
  | { kind: 'link'; target: string }
  /** A FIFO, socket or device: nothing a checkout holds. */
  | { kind: 'other' };

/** Entries by their path relative to the tree's top, `/`-separated. */
export type TreeListing = Map<string, TreeEntry>;

export type HandBackStep =
  | { op: 'remove'; path: string; dir: boolean }
  | { op: 'mkdir'; path: string }
  | { op: 'write'; path: string; size: number; executable: boolean }
  | { op: 'link'; path: string; target: string }
  | { op: 'chmod'; path: string; executable: boolean };

export interface HandBackLimits {
  /** Bytes of file content copied into the checkout. */
  bytes: number;
  /** Steps: files written, directories made, entries removed. */
  entries: number;
}

/** Far above a source change, far below what fills a runner's disk twice over. */
export const HAND_BACK_LIMITS: HandBackLimits = { bytes: 2 * 1024 ** 3, entries: 200_000 };

export type HandBackPlan = { steps: HandBackStep[]; bytes: number; skipped: string[] } | { problem: string };

/** True for `.git` in any letter case: git on a case-insensitive disk reads `.GIT` as its own. */
export const isGitName = (name: string) => name.toLowerCase() === '.git';

/** A path the listing may hold: relative, no empty, `.` or `..` part, no `.git` anywhere in it. */
export function safeRelativePath(path: string): boolean {
  if (!path || path.includes('\0') || path.startsWith('/')) return false;
  return path.split('/').every((part) => part !== '' && part !== '.' && part !== '..' && !isGitName(part));
}

/** A link target that, read from the link's folder, stays inside the tree: relative and never climbing above it. */
export function linkStaysInside(path: string, target: string): boolean {
  if (!target || target.startsWith('/') || target.includes('\0')) return false;
  const resolved = posix.normalize(posix.join(posix.dirname(path), target));
  return resolved !== '..' && !resolved.startsWith('../');
}

const depth = (path: string) => path.split('/').length;

/**
 * The steps that bring the checkout from `before` to `after`. A file travels only when it is `owner`'s (the agent's):
 * one that is not is a hard link to someone else's file, whose content is not the agent's to hand on.
 */
export function handBackPlan(
  before: TreeListing,
  after: TreeListing,
  owner: number,
  limits: HandBackLimits = HAND_BACK_LIMITS,
): HandBackPlan {
  const skipped: string[] = [];
  const removes: HandBackStep[] = [];
  const creates: HandBackStep[] = [];
  let bytes = 0;

  for (const [path, was] of before) {
    if (!safeRelativePath(path)) continue;
    const now = after.get(path);
    const gone = !now && was.kind !== 'other';
    // Only a change between a folder and a non-folder needs the old entry gone first: a file or link is replaced by
    // a rename over it.
    const swapped = now && now.kind !== 'other' && (was.kind === 'dir') !== (now.kind === 'dir');
    if (gone || swapped) removes.push({ op: 'remove', path, dir: was.kind === 'dir' });
  }
  for (const [path, now] of after) {
    if (!safeRelativePath(path)) {
      skipped.push(`${JSON.stringify(path)}: not a plain relative path`);
      continue;
    }
    const was = before.get(path);
    if (now.kind === 'other') {
      if (was?.kind !== 'other') skipped.push(`${path}: not a regular file, directory or symlink`);
      continue;
    }
    if (now.kind === 'dir') {
      if (was?.kind !== 'dir') creates.push({ op: 'mkdir', path });
      continue;
    }
    if (now.kind === 'link') {
      if (was?.kind === 'link' && was.target === now.target) continue;
      if (!linkStaysInside(path, now.target)) {
        skipped.push(`${path}: a symlink to ${JSON.stringify(now.target)}, outside the tree`);
        continue;
      }
      creates.push({ op: 'link', path, target: now.target });
      continue;
    }
    if (now.uid !== owner) {
      skipped.push(`${path}: owned by uid ${now.uid}, not the agent`);
      continue;
    }
    // rsync's quick check: the agent's edits change size or mtime (an agent that sets both back hides only its own).
    if (was?.kind === 'file' && was.size === now.size && was.mtimeMs === now.mtimeMs) {
      if (was.executable !== now.executable) creates.push({ op: 'chmod', path, executable: now.executable });
      continue;
    }
    bytes += now.size;
    creates.push({ op: 'write', path, size: now.size, executable: now.executable });
  }

  const steps = [
    // Children before their folder on the way out, folders before their children on the way in.
    ...removes.sort((a, b) => depth(b.path) - depth(a.path)),
    ...creates.sort((a, b) => depth(a.path) - depth(b.path)),
  ];
  if (bytes > limits.bytes)
    return { problem: `the agent's changes hold ${bytes} bytes of files, over the hand-back limit of ${limits.bytes}` };
  if (steps.length > limits.entries)
    return { problem: `the agent changed ${steps.length} entries, over the hand-back limit of ${limits.entries}` };
  return { steps, bytes, skipped };
}
