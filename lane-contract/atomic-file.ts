// Replacing a file so that readers (a controller reading its config, a CLI reading its credentials) see the old or
// the new text, never half, and so that a crash mid-write leaves the old file whole.
import { randomBytes } from 'node:crypto';
import { open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface NewFileOptions {
  /** Mode and owner of the new file, instead of the target's (a release into a folder the job could write). */
  mode?: number;
  owner?: { uid: number; gid: number };
}

/**
 * Writes a temp file beside the target (same filesystem, so rename is atomic), fsyncs it, gives it the target's mode
 * and owner (or the ones asked for), renames it over, and fsyncs the directory so the rename itself survives a crash.
 * The rename replaces whatever the target was, a symlink included, and never writes through it.
 */
export async function replaceFileAtomically(path: string, text: string, opts: NewFileOptions = {}): Promise<void> {
  const before =
    opts.mode === undefined || opts.owner === undefined ? await stat(path).catch(() => undefined) : undefined;
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  const mode = opts.mode ?? (before ? before.mode & 0o777 : 0o644);
  // O_EXCL: a symlink planted at the temp name fails the open instead of being followed.
  const handle = await open(temp, 'wx', mode);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
    await handle.chmod(mode); // the umask took bits off at open
    // A root controller rewriting a user's credential file must not leave it owned by root. Through the open handle,
    // never by path: the folder may be the job's, and a job that swaps the temp file for a symlink must not get the
    // chown applied to the file it points at.
    const owner = opts.owner ?? before;
    if (owner && (owner.uid !== process.getuid?.() || owner.gid !== process.getgid?.())) {
      if (opts.owner) await handle.chown(owner.uid, owner.gid);
      else await handle.chown(owner.uid, owner.gid).catch(() => undefined);
    }
  } catch (err) {
    await handle.close();
    await unlink(temp).catch(() => undefined); // a full disk must not leave half a credential file lying beside it
    throw err;
  }
  await handle.close();
  try {
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  const dir = await open(dirname(path), 'r');
  await dir.sync().catch(() => undefined);
  await dir.close();
}
