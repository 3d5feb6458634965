// A repository's code index for the lanes' codegraph MCP server: built from a checkout on the host in a factory/base
// container, kept under stateDir/codegraph/OWNER/NAME, and given to lanes read-only by a data mount of
// stateDir/codegraph. codegraph 1.6.1 cannot serve from a read-only folder (it writes its writer lock and WAL beside
// the database, and has no flag or variable that moves the index out of the project), so the lane's MCP command
// copies its repo's index into the checkout's .codegraph/, where codegraph catches up the files changed since.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withFileLock } from '../../lane-contract/file-lock.js';

/** The folder under stateDir that holds every repo's index; the lanes' data mount binds it. */
export const CODE_INDEX_FOLDER = 'codegraph';

/** The file beside the database that says what the index is of: the lane's `codegraph` ignores it. */
export const INDEX_FACTS_FILE = 'factory-index.json';

export const codeIndexRoot = (stateDir: string) => join(stateDir, CODE_INDEX_FOLDER);

const SEGMENT = /^[a-z0-9_.-]+$/;

/**
 * OWNER/NAME, lowercased: GitHub's names ignore case, and the lane's command lowercases GITHUB_REPOSITORY the same
 * way, so an index built as `Ali/Platform` is found by a job of `ali/platform`.
 */
export function parseIndexRepo(repo: string): { owner: string; name: string } | string {
  const parts = repo.toLowerCase().split('/');
  if (parts.length !== 2 || parts.some((p) => !SEGMENT.test(p) || p === '.' || p === '..'))
    return `expected OWNER/NAME (letters, digits, "-", "_", "."), got ${JSON.stringify(repo)}`;
  return { owner: parts[0]!, name: parts[1]! };
}

/** What the lanes read for a repo: a symlink to its newest complete build, swapped in one rename. */
export const codeIndexPath = (stateDir: string, repo: { owner: string; name: string }) =>
  join(codeIndexRoot(stateDir), repo.owner, repo.name);

/** What codegraph's build left for a publish: the commit indexed and codegraph's own numbers. */
export interface IndexFacts {
  repo: string;
  commit: string;
  builtAt: string;
  image: string;
  codegraph: string;
  files: number;
  nodes: number;
  bytes: number;
}

// Inside factory/base, as the controller's user: a shallow clone of the checkout's HEAD, so only committed code is
// indexed and the index carries its commit (codegraph stamps it and takes git's fast path when the lane has it),
// indexed where codegraph wants it (in the project), then only the closed database copied out.
const BUILD_SCRIPT = [
  'set -eu',
  // The checkout is usually someone else's (an admin's clone): in the global config, not `-c`, since git drops
  // command-line config for the upload-pack it runs on the checkout's side.
  "git config --global safe.directory '*'",
  'git clone --quiet --depth 1 --no-hardlinks file:///checkout /tmp/repo',
  'cd /tmp/repo',
  'echo "commit=$(git rev-parse HEAD)"',
  'codegraph init --yes . >&2',
  'echo "status=$(codegraph status --json .)"',
  // A clean close folds the WAL back; a leftover one would hold rows the copied database lacks.
  'test ! -s .codegraph/codegraph.db-wal',
  'cp .codegraph/codegraph.db .codegraph/.gitignore /index/',
].join('\n');

/** The build container: no network, no capabilities, the checkout read-only, only the new build folder writable. */
export function indexBuildSpec(o: { image: string; checkout: string; out: string; user: string }) {
  return {
    Image: o.image,
    User: o.user,
    Cmd: ['bash', '-c', BUILD_SCRIPT],
    // No telemetry and no update check: the container has no network, and the answer must not wait on one.
    Env: ['HOME=/tmp', 'CODEGRAPH_TELEMETRY=0', 'DO_NOT_TRACK=1'],
    NetworkDisabled: true,
    HostConfig: {
      NetworkMode: 'none',
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Binds: [`${o.checkout}:/checkout:ro`, `${o.out}:/index`],
    },
  };
}

/** The build's facts from its output; undefined when codegraph did not finish (the output says why). */
export function readBuildOutput(output: string): Omit<IndexFacts, 'repo' | 'builtAt' | 'image'> | undefined {
  const commit = /^commit=([0-9a-f]{40})$/m.exec(output)?.[1];
  const status = /^status=(\{.*\})$/m.exec(output)?.[1];
  if (!commit || !status) return undefined;
  const s = JSON.parse(status) as { version?: string; fileCount?: number; nodeCount?: number; dbSizeBytes?: number };
  return {
    commit,
    codegraph: s.version ?? '',
    files: s.fileCount ?? 0,
    nodes: s.nodeCount ?? 0,
    bytes: s.dbSizeBytes ?? 0,
  };
}

const stampOf = (now: Date) =>
  now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
const BUILD = /^\.(.+)\.(\d{8}T\d{6}Z)-[0-9a-f]{8}(\.building)?$/;
const TEMP_LINK = /^\..+\.link-[0-9a-f]{8}$/;
const STALE_BUILDING_MS = 24 * 3600_000;

/** A new build folder's name beside the repo's link: hidden, and marked as building until it is complete. */
export const newBuildName = (name: string, now: Date) =>
  `.${name}.${stampOf(now)}-${randomBytes(4).toString('hex')}.building`;

/**
 * The builds of `name` to remove after a publish: every complete one but the current and the one it replaced (a lane
 * may be copying it this moment), and any still "building" after a day (a build that died). A build of another repo
 * whose name shares the prefix is never matched: the name is compared whole.
 */
export function buildsToRemove(entries: string[], name: string, keep: string[], now: Date): string[] {
  return entries.filter((e) => {
    const m = BUILD.exec(e);
    if (!m || m[1] !== name || keep.includes(e)) return false;
    if (!m[3]) return true;
    const at = Date.parse(m[2]!.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z'));
    return now.getTime() - at > STALE_BUILDING_MS;
  });
}

/** The collaborators a build needs: the container runner (the Docker engine's runToExit) and the clock. */
export interface IndexBuilder {
  run(
    spec: ReturnType<typeof indexBuildSpec>,
    timeoutMs: number,
  ): Promise<{ exitCode: number; output: string; timedOut: boolean }>;
  now(): Date;
}

const BUILD_TIMEOUT_MS = 30 * 60_000;

/**
 * Builds the index of `repo` from `checkout` and publishes it: into a folder of its own, then the repo's link swapped
 * to it in one rename, so a lane copies the old index or the new one, never half of one. `hostView` turns the
 * controller's paths into the Docker host's (hostPathMap).
 */
export async function buildCodeIndex(
  builder: IndexBuilder,
  o: { stateDir: string; repo: string; checkout: string; image: string; user: string; hostView: (p: string) => string },
): Promise<{ path: string; facts: IndexFacts }> {
  const repo = parseIndexRepo(o.repo);
  if (typeof repo === 'string') throw new Error(`--repo: ${repo}`);
  const link = codeIndexPath(o.stateDir, repo);
  const dir = join(link, '..');
  await mkdir(dir, { recursive: true });
  await readPublished(link); // before the build, so a folder in the link's place costs no build
  const started = builder.now();
  const building = newBuildName(repo.name, started);
  const out = join(dir, building);
  await mkdir(out);
  // Readable by the lanes' agent user whatever the controller's umask; stateDir itself stays as private as it was.
  for (const d of [codeIndexRoot(o.stateDir), dir, out]) await chmod(d, 0o755);
  let facts: IndexFacts;
  try {
    const spec = indexBuildSpec({
      image: o.image,
      checkout: o.hostView(o.checkout),
      out: o.hostView(out),
      user: o.user,
    });
    const result = await builder.run(spec, BUILD_TIMEOUT_MS);
    const built = result.exitCode === 0 ? readBuildOutput(result.output) : undefined;
    if (!built) {
      const why = result.timedOut ? `timed out after ${BUILD_TIMEOUT_MS / 60_000} min` : `exited ${result.exitCode}`;
      throw new Error(`codegraph in ${o.image} ${why}:\n${result.output.trim().split('\n').slice(-15).join('\n')}`);
    }
    facts = { repo: `${repo.owner}/${repo.name}`, builtAt: started.toISOString(), image: o.image, ...built };
    await writeFile(join(out, INDEX_FACTS_FILE), JSON.stringify(facts, null, 2) + '\n', { mode: 0o644 });
  } catch (err) {
    await rm(out, { recursive: true, force: true });
    throw err;
  }
  // Complete from here: a publish that fails leaves it as an unpublished build, which the next publish removes. One
  // publish of the repo at a time (a timer's build beside an admin's): another's cleanup would take this complete
  // build between its rename and its publish, and the link would point at nothing.
  const complete = building.replace(/\.building$/, '');
  await withFileLock(link, async () => {
    await rename(out, join(dir, complete));
    const previous = await publish(dir, repo.name, complete);
    const stale = buildsToRemove(await readdir(dir), repo.name, [complete, ...(previous ? [previous] : [])], started);
    for (const e of stale) await rm(join(dir, e), { recursive: true, force: true });
  });
  return { path: link, facts };
}

/** The build the repo's link points at, undefined before the first; a folder or file there is refused. */
async function readPublished(link: string): Promise<string | undefined> {
  return readlink(link).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw new Error(`${link} is not a link factory made (${err.code}): move it away and build again`);
  });
}

/** Points the repo's link at `build` in one rename; returns the build it pointed at before. */
async function publish(dir: string, name: string, build: string): Promise<string | undefined> {
  const link = join(dir, name);
  const previous = await readPublished(link);
  const temp = join(dir, `.${name}.link-${randomBytes(4).toString('hex')}`);
  await symlink(build, temp); // relative: it resolves the same inside the lanes' mount
  await rename(temp, link);
  return previous;
}

/** Every published index's facts, by repo; a repo whose facts cannot be read is left out (its index still serves). */
export async function listCodeIndexes(stateDir: string): Promise<IndexFacts[]> {
  const root = codeIndexRoot(stateDir);
  const facts: IndexFacts[] = [];
  for (const owner of (await readdir(root).catch(() => [])).sort())
    for (const name of (await readdir(join(root, owner)).catch(() => [])).sort()) {
      if (BUILD.test(name) || TEMP_LINK.test(name)) continue;
      const text = await readFile(join(root, owner, name, INDEX_FACTS_FILE), 'utf8').catch(() => undefined);
      try {
        if (text) facts.push(JSON.parse(text) as IndexFacts);
      } catch {
        // A facts file cut short by a full disk: the index itself is whole, only its description is missing.
      }
    }
  return facts;
}
