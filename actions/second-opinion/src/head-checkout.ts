// The pull request's head, laid out read-only for the reviewing agent: GitHub's tarball of the bound SHA (so what
// the agent reads is exactly the commit the review is about, whatever is pushed meanwhile), without the files a CLI
// would load as its own settings or instructions. Those come from the lane and the action, never from the PR: a
// PR's .claude/settings.json could add hooks that run code, its CLAUDE.md or AGENTS.md could steer the review. Their
// changes still reach the agent in the diff, as data.
import { chmod, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { extract } from 'tar-stream';

/** Paths (at any depth) a CLI reads as configuration or instructions. */
const WITHHELD =
  /(^|\/)(\.claude|\.codex|\.mcp\.json|CLAUDE\.md|CLAUDE\.local\.md|AGENTS\.md|AGENTS\.override\.md)(\/|$)/;

export interface HeadCheckout {
  files: number;
  /** Paths left out: CLI settings and instructions, links, and anything else that is not a plain file. */
  withheld: string[];
}

/** Extracts a GitHub tarball (one top-level folder) into `dest`, then makes the tree read-only. */
export async function extractHead(tarGz: Buffer, dest: string): Promise<HeadCheckout> {
  const result: HeadCheckout = { files: 0, withheld: [] };
  const entries = extract();
  Readable.from(tarGz)
    .pipe(createGunzip())
    .on('error', (err) => entries.destroy(err))
    .pipe(entries);
  for await (const entry of entries) {
    // The top folder (owner-repo-sha) goes first, then `..` is resolved: what still climbs is refused.
    const path = posix
      .normalize(entry.header.name.split('/').slice(1).join('/') || '.')
      .replace(/^\.$/, '')
      .replace(/\/$/, '');
    const unsafe = path === '' || path.startsWith('..') || posix.isAbsolute(path);
    if (!unsafe && entry.header.type === 'file' && !WITHHELD.test(path)) {
      const target = join(dest, path);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(
        target,
        await Readable.from(entry)
          .toArray()
          .then((c) => Buffer.concat(c as Buffer[])),
      );
      result.files += 1;
    } else {
      if (path && entry.header.type !== 'directory') result.withheld.push(path);
      entry.resume();
    }
  }
  await readOnly(dest);
  return result;
}

async function readOnly(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await readOnly(path);
    else await chmod(path, 0o444);
  }
  await chmod(dir, 0o555);
}

/** Gives the tree back its write bits and removes it: the runner cleans its temp folder as a user that could not. */
export async function removeHead(dir: string): Promise<void> {
  const writable = async (path: string): Promise<void> => {
    await chmod(path, 0o755);
    for (const entry of await readdir(path, { withFileTypes: true })) {
      if (entry.isDirectory()) await writable(join(path, entry.name));
    }
  };
  await writable(dir).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
}
