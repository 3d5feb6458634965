// Builds the factory's images through the Docker API: the plan (which images, which tags, which build args) is pure;
// the build streams a tar context to the engine and turns its JSON progress into lines.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type Docker from 'dockerode';
import { pack } from 'tar-stream';

export type ImageBuild = {
  tag: string;
  contextDir: string;
  dockerfile: string;
  /** Versions and image names only: every value is readable in the image history. */
  buildArgs: Record<string, string>;
  /** Docker network mode for RUN steps; unset uses the engine's default (bridge). */
  network?: string;
};

export type BuildPlanOptions = {
  imagesDir: string;
  version: string;
  /** Repo names that have a folder under images/repos/. */
  repos: readonly string[];
  /** Build only this repo's image, on top of an existing base. */
  repo?: string;
  /** Base image for repo images instead of factory/base:<version>; the base itself is then not built. */
  base?: string;
  network?: string;
};

export const baseTag = (version: string) => `factory/base:${version}`;
export const repoTag = (name: string, version: string) => `factory/repo-${name}:${version}`;

/** `aina-platform` from `aina-platform` or `ainative-academy/aina-platform`. */
export const repoName = (repo: string) => repo.slice(repo.lastIndexOf('/') + 1);

export function planImageBuilds(o: BuildPlanOptions): { builds: ImageBuild[] } | { problem: string } {
  const network = o.network === undefined ? {} : { network: o.network };
  const wanted = o.repo === undefined ? [...o.repos] : [repoName(o.repo)];
  for (const name of wanted) {
    if (!o.repos.includes(name)) {
      return { problem: `no toolchain for ${name}: expected ${join(o.imagesDir, 'repos', name, 'toolchain.sh')} (known: ${o.repos.join(', ') || 'none'})` };
    }
  }
  const base = o.base ?? baseTag(o.version);
  const builds: ImageBuild[] = [];
  if (o.repo === undefined && o.base === undefined) {
    builds.push({ tag: base, contextDir: join(o.imagesDir, 'factory-base'), dockerfile: join(o.imagesDir, 'factory-base', 'Dockerfile'), buildArgs: {}, ...network });
  }
  for (const name of wanted) {
    builds.push({
      tag: repoTag(name, o.version),
      contextDir: join(o.imagesDir, 'repos', name),
      dockerfile: join(o.imagesDir, 'repo', 'Dockerfile'),
      buildArgs: { BASE_IMAGE: base, REPO: name },
      ...network,
    });
  }
  return { builds };
}

// The Dockerfile may live outside the context (images/repo/Dockerfile for every repo), so it travels under this name.
const DOCKERFILE_IN_CONTEXT = '.factory.Dockerfile';

/** The build context as a tar stream: the context folder's files plus the Dockerfile. */
export async function packContext(contextDir: string, dockerfile: string): Promise<NodeJS.ReadableStream> {
  const tar = pack();
  const entries = await readdir(contextDir, { withFileTypes: true, recursive: true });
  for (const entry of entries.filter((e) => e.isFile())) {
    const path = join(entry.parentPath, entry.name);
    const { mode } = await stat(path);
    tar.entry({ name: relative(contextDir, path), mode: mode & 0o777 }, await readFile(path));
  }
  tar.entry({ name: DOCKERFILE_IN_CONTEXT, mode: 0o644 }, await readFile(dockerfile));
  tar.finalize();
  return tar as unknown as NodeJS.ReadableStream;
}

type BuildEvent = { stream?: string; status?: string; progress?: string; error?: string; errorDetail?: { message?: string }; aux?: { ID?: string } };

/** Builds one image and returns its ID; `onLine` gets the engine's output line by line as it comes. */
export async function buildImage(docker: Docker, build: ImageBuild, onLine: (line: string) => void): Promise<string> {
  const context = await packContext(build.contextDir, build.dockerfile);
  const stream = await docker.buildImage(context, {
    t: build.tag,
    dockerfile: DOCKERFILE_IN_CONTEXT,
    buildargs: build.buildArgs,
    // Intermediate containers go even when a step fails, so a failed build leaves nothing running or stopped behind.
    rm: true,
    forcerm: true,
    ...(build.network === undefined ? {} : { networkmode: build.network }),
  });
  let id: string | undefined;
  let failure: string | undefined;
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (err: Error | null) => (err ? reject(err) : resolve()),
      (event: BuildEvent) => {
        if (event.error) failure = event.errorDetail?.message ?? event.error;
        if (event.aux?.ID) id = event.aux.ID;
        const text = event.stream ?? event.error ?? (event.status ? `${event.status}${event.progress ? ` ${event.progress}` : ''}` : '');
        for (const line of text.split('\n')) if (line.trim() !== '') onLine(line.trimEnd());
      },
    );
  });
  if (failure !== undefined) throw new Error(`${build.tag}: build failed: ${failure.trim()}`);
  if (id === undefined) id = (await docker.getImage(build.tag).inspect()).Id;
  return id;
}
