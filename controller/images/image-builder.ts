// Builds the factory's images through the Docker API: the plan (which images, which tags, which build args) is pure;
// the build streams a tar context to the engine and turns its JSON progress into lines.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { contextEntries, hashEntries, packEntries, type ContextSource } from './build-context.js';
import { installNpmStage, type NpmStage } from './npm-stage.js';
import { errorMessage } from '../util/error-message.js';

export type ImageBuild = {
  tag: string;
  contextDir: string;
  dockerfile: string;
  /** Versions and image names only: every value is readable in the image history. */
  buildArgs: Record<string, string>;
  /** Docker network mode for RUN steps; unset uses the engine's default (bridge). */
  network?: string;
  /** More host folders and files for the context, beside contextDir's own. */
  sources?: ContextSource[];
  /** npm packages installed on the host into the context; their pins, not their bytes, enter the inputs hash. */
  npm?: NpmStage[];
  /** Anything else the image depends on that is not in its context (the inputs hash of the image it builds FROM). */
  hashExtra?: string[];
};

const LOST_CACHE_LAYER = /failed to get digest sha256:[0-9a-f]+: open .*: no such file or directory/;

/** The label that holds the SHA-256 of everything an image was built from. */
export const INPUTS_LABEL = 'factory.inputs';

export type BuildPlanOptions = {
  imagesDir: string;
  version: string;
  /** Repo names that have a folder under images/repos/. */
  repos: readonly string[];
  /** Build only this repo's image, on top of an existing base. */
  repo?: string;
  /** Base image for repo images instead of factory/base:<version> (built by base-plan.ts, not here). */
  base?: string;
  network?: string;
};

export const baseTag = (version: string) => `factory/base:${version}`;
/**
 * `factory/repo-NAME:VERSION`, or `factory/OWNER/repo-NAME:VERSION` when the repo was named with its owner, so two
 * owners' repos of the same name never share a tag. Docker wants repository names in lower case.
 */
export const repoTag = (repo: string, version: string) => {
  const owner = repo.includes('/') ? `${repo.slice(0, repo.lastIndexOf('/')).toLowerCase()}/` : '';
  return `factory/${owner}repo-${repoName(repo).toLowerCase()}:${version}`;
};

/** `aina-platform` from `aina-platform` or `ainative-academy/aina-platform`. */
export const repoName = (repo: string) => repo.slice(repo.lastIndexOf('/') + 1);

/** The per-repo images, each FROM the base. */
export function planImageBuilds(o: BuildPlanOptions): { builds: ImageBuild[] } | { problem: string } {
  const network = o.network === undefined ? {} : { network: o.network };
  const wanted = o.repo === undefined ? [...o.repos] : [o.repo];
  for (const name of wanted.map(repoName)) {
    if (!o.repos.includes(name)) {
      return {
        problem: `no toolchain for ${name}: expected ${join(o.imagesDir, 'repos', name, 'toolchain.sh')} (known: ${o.repos.join(', ') || 'none'})`,
      };
    }
  }
  const base = o.base ?? baseTag(o.version);
  const builds: ImageBuild[] = [];
  for (const repo of wanted) {
    const name = repoName(repo);
    builds.push({
      tag: repoTag(repo, o.version),
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

const baseSources = (build: ImageBuild): ContextSource[] => [
  { from: build.contextDir, to: '' },
  ...(build.sources ?? []),
  { from: build.dockerfile, to: DOCKERFILE_IN_CONTEXT },
];

/** The SHA-256 of an image's inputs: context files, Dockerfile, build args, npm pins and hashExtra. */
export async function inputsHash(build: ImageBuild): Promise<string> {
  const args = Object.entries(build.buildArgs)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `arg ${k}=${v}`);
  const npm = (build.npm ?? []).map(
    (stage) => `npm ${stage.to} ${stage.global ? 'global' : 'local'} ${stage.packages.join(' ')}`,
  );
  return hashEntries(await contextEntries(baseSources(build)), [...args, ...npm, ...(build.hashExtra ?? [])]);
}

type BuildEvent = {
  stream?: string;
  status?: string;
  progress?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string };
};

/** Builds one image and returns its ID; `onLine` gets the engine's output line by line as it comes. */
export async function buildImage(
  docker: Docker,
  build: ImageBuild,
  onLine: (line: string) => void,
  labels: Record<string, string> = {},
): Promise<string> {
  const staged: string[] = [];
  try {
    const npmSources: ContextSource[] = [];
    for (const stage of build.npm ?? []) {
      const dir = await installNpmStage(stage, onLine);
      staged.push(dir);
      npmSources.push({ from: dir, to: stage.to });
    }
    const entries = await contextEntries([...baseSources(build), ...npmSources]);
    return await runBuild(docker, build, packEntries(entries), onLine, labels);
  } finally {
    for (const dir of staged) await rm(dir, { recursive: true, force: true });
  }
}

/** The image if its label says it was built from these inputs; otherwise a fresh build, labelled with them. */
export async function ensureImage(
  docker: Docker,
  build: ImageBuild,
  onLine: (line: string) => void,
): Promise<{ id: string; built: boolean; inputs: string }> {
  const inputs = await inputsHash(build);
  const current = await docker
    .getImage(build.tag)
    .inspect()
    .catch((err: { statusCode?: number }) => (err.statusCode === 404 ? undefined : Promise.reject(err)));
  if (current?.Config?.Labels?.[INPUTS_LABEL] === inputs) return { id: current.Id, built: false, inputs };
  const labels = { [INPUTS_LABEL]: inputs };
  try {
    return { id: await buildImage(docker, build, onLine, labels), built: true, inputs };
  } catch (err) {
    // The classic builder shares its layer cache between concurrent builds, and one build's cleanup can remove a
    // cached layer another is about to reuse; the second attempt builds that layer again.
    if (!LOST_CACHE_LAYER.test(errorMessage(err))) throw err;
    onLine(`retrying once: ${errorMessage(err)}`);
    return { id: await buildImage(docker, build, onLine, labels), built: true, inputs };
  }
}

async function runBuild(
  docker: Docker,
  build: ImageBuild,
  context: NodeJS.ReadableStream,
  onLine: (line: string) => void,
  labels: Record<string, string>,
): Promise<string> {
  const stream = await docker.buildImage(context, {
    t: build.tag,
    labels,
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
        const text =
          event.stream ??
          event.error ??
          (event.status ? `${event.status}${event.progress ? ` ${event.progress}` : ''}` : '');
        for (const line of text.split('\n')) if (line.trim() !== '') onLine(line.trimEnd());
      },
    );
  });
  if (failure !== undefined) throw new Error(`${build.tag}: build failed: ${failure.trim()}`);
  if (id === undefined) id = (await docker.getImage(build.tag).inspect()).Id;
  return id;
}
