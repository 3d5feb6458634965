// A build context assembled from several host folders and files: walked once into entries, which are packed into the
// tar the engine builds from, or hashed into the content hash that says whether an image is still current.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { pack } from 'tar-stream';

/** A host path (folder or file) placed at `to` inside the context ('' = the context's root). */
export type ContextSource = { from: string; to: string };

type Entry =
  | { kind: 'dir'; name: string; mode: number }
  | { kind: 'file'; name: string; mode: number; size: number; hostPath: string }
  | { kind: 'symlink'; name: string; target: string }
  | { kind: 'hardlink'; name: string; target: string; mode: number };

async function walk(hostPath: string, name: string, seen: Map<string, string>, out: Entry[]): Promise<void> {
  const info = await lstat(hostPath);
  if (info.isSymbolicLink()) {
    out.push({ kind: 'symlink', name, target: await readlink(hostPath) });
  } else if (info.isDirectory()) {
    if (name !== '') out.push({ kind: 'dir', name, mode: info.mode & 0o7777 });
    const children = (await readdir(hostPath)).sort();
    for (const child of children)
      await walk(join(hostPath, child), name === '' ? child : posix.join(name, child), seen, out);
  } else if (info.isFile()) {
    // npm links a CLI's platform binary into place with a hard link: packed twice it would be stored twice.
    const inode = `${info.dev}:${info.ino}`;
    const first = info.nlink > 1 ? seen.get(inode) : undefined;
    // The engine applies a link entry's mode to the inode it shares: it must be the file's own.
    if (first !== undefined) out.push({ kind: 'hardlink', name, target: first, mode: info.mode & 0o7777 });
    else {
      if (info.nlink > 1) seen.set(inode, name);
      out.push({ kind: 'file', name, mode: info.mode & 0o7777, size: info.size, hostPath });
    }
  }
}

/** Every entry of the context, in a stable order; a later source's entry replaces an earlier one of the same name. */
export async function contextEntries(sources: readonly ContextSource[]): Promise<Entry[]> {
  const seen = new Map<string, string>();
  const byName = new Map<string, Entry>();
  for (const source of sources) {
    const entries: Entry[] = [];
    await walk(source.from, source.to, seen, entries);
    for (const entry of entries) byName.set(entry.name, entry);
  }
  return [...byName.values()];
}

/** The context as a tar stream, files read one at a time so a large binary is never held twice. */
export function packEntries(entries: readonly Entry[]): NodeJS.ReadableStream {
  const tar = pack();
  void (async () => {
    for (const e of entries) {
      if (e.kind === 'dir') tar.entry({ name: e.name, type: 'directory', mode: e.mode });
      else if (e.kind === 'symlink') tar.entry({ name: e.name, type: 'symlink', linkname: e.target });
      else if (e.kind === 'hardlink') tar.entry({ name: e.name, type: 'link', linkname: e.target, mode: e.mode });
      else {
        await new Promise<void>((resolve, reject) => {
          const sink = tar.entry({ name: e.name, mode: e.mode, size: e.size }, (err) =>
            err ? reject(err) : resolve(),
          );
          createReadStream(e.hostPath).on('error', reject).pipe(sink);
        });
      }
    }
    tar.finalize();
  })().catch((err: Error) => tar.destroy(err));
  return tar as unknown as NodeJS.ReadableStream;
}

/** SHA-256 over names, modes, link targets and bytes of the entries, and over `extra` (build args, package pins). */
export async function hashEntries(entries: readonly Entry[], extra: readonly string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const e of entries) {
    hash.update(`${e.kind}\0${e.name}\0`);
    if (e.kind === 'dir') hash.update(`${e.mode}\0`);
    else if (e.kind === 'symlink') hash.update(`${e.target}\0`);
    else if (e.kind === 'hardlink') hash.update(`${e.target}\0${e.mode}\0`);
    else {
      hash.update(`${e.mode}\0${e.size}\0`);
      for await (const chunk of createReadStream(e.hostPath)) hash.update(chunk as Buffer);
    }
  }
  for (const line of extra) hash.update(`extra\0${line}\0`);
  return hash.digest('hex');
}
