// A stand-in for factory/base that needs no registry: Debian's static busybox in a rootfs imported with the Docker
// API, with the base image's contract (a `runner` user, UID 1000, whose home holds run.sh).
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import Docker from 'dockerode';
import { pack } from 'tar-stream';

const BUSYBOX = '/bin/busybox';
const APPLETS = ['sh', 'su', 'rm', 'cat', 'echo', 'id', 'ls', 'chown', 'mkdir', 'true', 'test', 'sleep'];

async function rootfs(): Promise<NodeJS.ReadableStream> {
  const tar = pack();
  const dir = (name: string, mode = 0o755, uid = 0) => tar.entry({ name, type: 'directory', mode, uid, gid: uid });
  dir('bin');
  tar.entry({ name: 'bin/busybox', mode: 0o755 }, await readFile(BUSYBOX));
  for (const applet of APPLETS) tar.entry({ name: `bin/${applet}`, type: 'symlink', linkname: 'busybox' });
  dir('etc');
  tar.entry(
    { name: 'etc/passwd', mode: 0o644 },
    'root:x:0:0:root:/root:/bin/sh\nrunner:x:1000:1000:runner:/home/runner:/bin/sh\n',
  );
  tar.entry({ name: 'etc/group', mode: 0o644 }, 'root:x:0:\nrunner:x:1000:\n');
  dir('root', 0o700);
  dir('tmp', 0o1777);
  dir('home');
  dir('home/runner', 0o755, 1000);
  tar.entry(
    { name: 'home/runner/run.sh', mode: 0o755, uid: 1000, gid: 1000 },
    '#!/bin/sh\necho "runner would start here"\n',
  );
  tar.finalize();
  return tar as unknown as NodeJS.ReadableStream;
}

/** Imports the stand-in base under a unique tag; the caller removes it. */
export async function importBusyboxBase(docker: Docker): Promise<string> {
  const tag = `factory-test/images-base:${randomBytes(4).toString('hex')}`;
  const [repo, version] = tag.split(':') as [string, string];
  const stream = await docker.importImage(await rootfs(), { repo, tag: version });
  await new Promise((resolve, reject) =>
    docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve(undefined))),
  );
  return tag;
}

/** Removes images by tag, newest first, ignoring ones already gone. */
export async function removeImages(docker: Docker, tags: readonly string[]): Promise<void> {
  for (const tag of [...tags].reverse()) {
    await docker
      .getImage(tag)
      .remove({ force: true })
      .catch((err: { statusCode?: number }) => (err.statusCode === 404 ? undefined : Promise.reject(err)));
  }
}
