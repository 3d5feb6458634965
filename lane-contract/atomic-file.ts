// Replacing a file so that readers (a controller reading its config, a CLI reading its credentials) see the old or
// the new text, never half, and so that a crash mid-write leaves the old file whole.
import { randomBytes } from 'node:crypto';
import { chown, open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Writes a temp file beside the target (same filesystem, so rename is atomic), fsyncs it, gives it the target's mode
 * and owner, renames it over, and fsyncs the directory so the rename itself survives a crash.
 */
export async function replaceFileAtomically(path: string, text: string): Promise<void> {
  const before = await stat(path).catch(() => undefined);
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', before ? before.mode & 0o777 : 0o644);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } catch (err) {
    await handle.close();
    await unlink(temp).catch(() => undefined); // a full disk must not leave half a credential file lying beside it
    throw err;
  }
  await handle.close();
  try {
    // A root controller rewriting a user's credential file must not leave it owned by root.
    if (before && (before.uid !== process.getuid?.() || before.gid !== process.getgid?.())) {
      await chown(temp, before.uid, before.gid).catch(() => undefined);
    }
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  const dir = await open(dirname(path), 'r');
  await dir.sync().catch(() => undefined);
  await dir.close();
}
