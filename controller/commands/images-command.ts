// `factory images build [--repo R]`: builds factory/base and the per-repo images, then audits each for credentials.
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { packageRoot } from '../util/package-root.js';
import type Docker from 'dockerode';
import type { Command } from 'commander';
import { act, configOption, EXIT, newCommand } from './command-line.js';
import { dockerClient } from './docker-client.js';
import type { Io } from './io.js';
import { auditImage } from '../images/image-audit.js';
import { planBaseBuilds, type UpstreamMode } from '../images/base-plan.js';
import { buildImage, ensureImage, planImageBuilds, type ImageBuild } from '../images/image-builder.js';
import { LOCAL_DISTRO, localBaseOptions } from '../images/local-base.js';
import { readImageFacts } from '../images/image-facts.js';
import { dockerSidecarBuild } from '../images/docker-sidecar-image.js';
import { errorMessage } from '../util/error-message.js';

/** Repo names: folders under images/repos/ that hold a toolchain.sh. */
async function knownRepos(imagesDir: string): Promise<string[]> {
  const entries = await readdir(join(imagesDir, 'repos'), { withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isDirectory() && existsSync(join(imagesDir, 'repos', e.name, 'toolchain.sh')))
    .map((e) => e.name)
    .sort();
}

async function imageExists(docker: Docker, ref: string): Promise<boolean> {
  return docker
    .getImage(ref)
    .inspect()
    .then(
      () => true,
      (err: { statusCode?: number }) => (err.statusCode === 404 ? false : Promise.reject(err)),
    );
}

/** Removes the tag; a failure is said, so the output never claims an image is unusable when it is not. */
async function untag(docker: Docker, tag: string): Promise<string> {
  return docker
    .getImage(tag)
    .remove()
    .then(
      () => 'so it was untagged',
      (err: Error) =>
        `and untagging it failed (${err.message}): remove it with docker rmi ${tag} before any profile uses it`,
    );
}

/**
 * Builds and audits one image; an image that is leaky, or that could not be audited, is untagged so no profile starts
 * it. With `reuse`, an image whose inputs label matches is kept as it is: it was audited when it was built.
 */
async function buildAndAudit(docker: Docker, build: ImageBuild, io: Io, reuse = false): Promise<boolean> {
  io.stdout(`==> building ${build.tag}`);
  const started = Date.now();
  try {
    const onLine = (line: string) => io.stdout(`[${build.tag}] ${line}`);
    if (reuse) {
      const result = await ensureImage(docker, build, onLine);
      if (!result.built) {
        io.stdout(`==> ${build.tag} is up to date (inputs ${result.inputs.slice(0, 12)})`);
        return true;
      }
    } else {
      await buildImage(docker, build, onLine);
    }
  } catch (err) {
    io.stderr(`factory images build: ${errorMessage(err)}`);
    return false;
  }
  io.stdout(`==> ${build.tag} built in ${Math.round((Date.now() - started) / 1000)} s`);
  let facts;
  try {
    facts = await readImageFacts(docker, build.tag);
  } catch (err) {
    io.stderr(
      `factory images build: ${build.tag} could not be audited (${errorMessage(err)}), ${await untag(docker, build.tag)}`,
    );
    return false;
  }
  const findings = auditImage(facts);
  if (findings.length > 0) {
    io.stderr(
      `factory images build: ${build.tag} carries credentials, ${await untag(docker, build.tag)}:\n${findings.map((f) => `  ${f}`).join('\n')}`,
    );
    return false;
  }
  io.stdout(
    `==> ${build.tag} built; audit found no credentials in its env, labels, ${facts.history.length} history steps or ${facts.files.length} files read from its layers`,
  );
  return true;
}

type BuildOptions = {
  config: string;
  repo?: string;
  tag?: string;
  base?: string;
  imagesDir?: string;
  network?: string;
  distro?: string;
  upstream?: string;
  local?: boolean;
  baseOnly?: boolean;
  dockerSidecar?: boolean;
};

/** `docker`: the engine to build on; without it, the one the config's docker.socketPath names. */
export function imagesProgram(io: Io, docker?: Docker) {
  const images = newCommand('images', io).summary('build the factory base image and per-repo images');
  const build = newCommand('build', io)
    .summary(
      'build factory/upstream, factory/base and the per-repo images through the Docker API, then audit each for credentials',
    )
    .description(
      [
        'Without --repo: builds factory/upstream:VERSION and factory/base:VERSION (skipped while their inputs are unchanged),',
        'then factory/repo-NAME:VERSION for every folder in images/repos/.',
        "With --repo: builds only that repo's image, on factory/base:VERSION (or --base IMAGE), which must exist.",
        '--upstream local: the local stand-ins for node, the runner, uv and the GitHub MCP server (docs/images.md).',
        `--local: both for a machine without registries (${LOCAL_DISTRO}, made by scripts/build-debian-base.sh), tagged factory-local/...:<inputs hash>.`,
        "VERSION defaults to the factory package's version.",
      ].join('\n'),
    )
    .option('--repo <name>', "build only this repo's image")
    .option('--tag <version>', 'the version tag')
    .option('--base <image>', 'the base image for --repo')
    .option('--images-dir <dir>', 'where the Dockerfiles are')
    .option('--network <mode>', "the build containers' network")
    .option('--distro <image>', 'the image the base starts FROM (default ubuntu:24.04)')
    .option('--upstream <mode>', 'release or local: where node, the runner, uv and the GitHub MCP server come from')
    .option('--local', 'build for a machine without registries: the local Debian base and the local upstream')
    .option('--base-only', 'build factory/upstream and factory/base only')
    .option(
      '--docker-sidecar',
      `build only the image of jobs' own Docker engines, factory-local/docker-sidecar:<inputs hash>, FROM ${LOCAL_DISTRO} (or --distro)`,
    )
    .addOption(configOption());
  images.addCommand(
    act(build, async (opts: BuildOptions, self: Command) => {
      const client = docker ? { ok: true as const, docker } : await dockerClient(self, opts.config);
      if (client.ok) return buildImages(opts, io, client.docker);
      io.stderr(client.problem);
      return EXIT.failed;
    }),
  );
  return images;
}

/** The sidecar image of docs/job-docker.md, kept while its inputs are unchanged. */
async function buildDockerSidecar(
  imagesDir: string,
  distro: string | undefined,
  io: Io,
  docker: Docker,
): Promise<number> {
  const build = await dockerSidecarBuild(imagesDir, distro);
  const from = build.buildArgs.BASE_IMAGE!;
  if (!(await imageExists(docker, from))) {
    io.stderr(
      `factory images build: distribution image ${from} is not on this Docker engine: make it with scripts/build-debian-base.sh`,
    );
    return EXIT.failed;
  }
  return (await buildAndAudit(docker, build, io, true)) ? 0 : 1;
}

/** Why `dir` lacks the folders this build reads (the package's images/ has them all), or undefined. */
export function imagesDirProblem(dir: string, needed: readonly string[], flag: boolean): string | undefined {
  const missing = needed.filter((sub) => !existsSync(join(dir, sub)));
  if (missing.length === 0) return undefined;
  const what = flag ? `--images-dir ${dir}` : `the package's images folder ${dir}`;
  const found = existsSync(dir) ? `has no ${missing.map((m) => `${m}/`).join(', ')}` : 'does not exist';
  return `${what} ${found}: point --images-dir at the images/ folder of a factory checkout or release (it holds factory-base/, repo/ and repos/NAME/toolchain.sh)`;
}

async function buildImages(values: BuildOptions, io: Io, docker: Docker): Promise<number> {
  const root = packageRoot();
  const imagesDir = resolve(values.imagesDir ?? join(root, 'images'));
  const upstreamDir = values.local || values.upstream === 'local' ? 'factory-upstream-local' : 'factory-upstream';
  const needed = values.dockerSidecar
    ? ['docker-sidecar']
    : [
        ...(values.repo === undefined && values.base === undefined ? ['factory-base', upstreamDir] : []),
        ...(values.baseOnly ? [] : ['repo']),
      ];
  const problem = imagesDirProblem(imagesDir, needed, values.imagesDir !== undefined);
  if (problem) {
    io.stderr(`factory images build: ${problem}`);
    return EXIT.failed;
  }
  const version =
    values.tag ?? (JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  if (values.dockerSidecar) return buildDockerSidecar(imagesDir, values.distro, io, docker);
  const upstream = values.upstream ?? (values.local ? 'local' : 'release');
  if (upstream !== 'release' && upstream !== 'local') {
    io.stderr(`factory images build: --upstream must be release or local, got ${upstream}`);
    return EXIT.usage;
  }
  const buildsBase = values.repo === undefined && values.base === undefined;
  let baseBuilds: ImageBuild[] = [];
  if (buildsBase) {
    try {
      baseBuilds = await planBaseBuilds(
        values.local
          ? localBaseOptions(imagesDir, values.distro)
          : {
              imagesDir,
              upstream: upstream as UpstreamMode,
              upstreamTag: `factory/upstream:${version}`,
              baseTag: `factory/base:${version}`,
              ...(values.distro === undefined ? {} : { distro: values.distro }),
              ...(values.network === undefined ? {} : { network: values.network }),
            },
      );
    } catch (err) {
      io.stderr(`factory images build: ${errorMessage(err)}`);
      return 1;
    }
  }
  const base = baseBuilds.at(-1)?.tag ?? values.base;
  const plan = values.baseOnly
    ? { builds: [] }
    : planImageBuilds({
        imagesDir,
        version,
        repos: await knownRepos(imagesDir),
        ...(values.repo === undefined ? {} : { repo: values.repo }),
        ...(base === undefined ? {} : { base }),
        ...(values.network === undefined ? {} : { network: values.network }),
      });
  if ('problem' in plan) {
    io.stderr(`factory images build: ${plan.problem}`);
    return EXIT.failed;
  }
  try {
    const distro = baseBuilds[0]?.buildArgs.BASE_IMAGE;
    if (distro !== undefined && !(await imageExists(docker, distro))) {
      io.stderr(
        `factory images build: distribution image ${distro} is not on this Docker engine${values.local ? ': make it with scripts/build-debian-base.sh' : ''}`,
      );
      return EXIT.failed;
    }
    const repoBase = plan.builds[0]?.buildArgs.BASE_IMAGE;
    if (!buildsBase && repoBase !== undefined && !(await imageExists(docker, repoBase))) {
      io.stderr(
        `factory images build: base image ${repoBase} is not on this Docker engine; build it first (factory images build) or pass --base IMAGE`,
      );
      return 1;
    }
    for (const build of baseBuilds) {
      if (!(await buildAndAudit(docker, build, io, true))) return 1;
    }
    for (const build of plan.builds) {
      if (!(await buildAndAudit(docker, build, io))) return 1;
    }
  } catch (err) {
    io.stderr(`factory images build: Docker engine error: ${errorMessage(err)}`);
    return EXIT.failed;
  }
  return EXIT.ok;
}
