// factory/base as the tests use it: built once per machine (the e2e globalSetup does it first) and audited then, and reused
// while its inputs hash is unchanged. Test files that need it at the same time wait on one lock instead of building it twice.
import { execFile } from 'node:child_process';
import { mkdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { planBaseBuilds } from '../../controller/images/base-plan.js';
import { auditImage } from '../../controller/images/image-audit.js';
import { readImageFacts } from '../../controller/images/image-facts.js';
import { ensureImage } from '../../controller/images/image-builder.js';
import { LOCAL_DISTRO, localBaseOptions } from '../../controller/images/local-base.js';

const root = join(import.meta.dirname, '../..');
const LOCK = join(tmpdir(), 'factory-local-base.lock');
// A build that takes longer than this is taken to have died with its lock held.
const STALE_LOCK_MS = 30 * 60_000;

async function withLock<T>(work: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      await mkdir(LOCK);
      break;
    } catch {
      const age = await stat(LOCK).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age > STALE_LOCK_MS) await rm(LOCK, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
  try {
    return await work();
  } finally {
    await rm(LOCK, { recursive: true, force: true });
  }
}

/** The tag of the local factory base, built (with the Debian under it) only when missing or stale. */
export async function ensureLocalBase(
  docker = new Docker(),
  onLine: (line: string) => void = () => {},
): Promise<string> {
  return withLock(async () => {
    await promisify(execFile)(join(root, 'scripts/build-debian-base.sh'), [LOCAL_DISTRO], { maxBuffer: 8 << 20 });
    const builds = await planBaseBuilds(localBaseOptions(join(root, 'images')));
    for (const build of builds) {
      // Audited once, when built, as `factory images build` does: reading 3 GB of layers on every run would slow
      // every test file running beside it.
      if (!(await ensureImage(docker, build, onLine)).built) continue;
      const findings = auditImage(await readImageFacts(docker, build.tag));
      if (findings.length > 0) {
        await docker.getImage(build.tag).remove({ force: true });
        throw new Error(`${build.tag} carries credentials, so it was removed:\n${findings.join('\n')}`);
      }
    }
    return builds.at(-1)!.tag;
  });
}
