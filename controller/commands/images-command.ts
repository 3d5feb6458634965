// `factory images build [--repo R]`: builds factory/base and the per-repo images, then audits each for credentials.
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packageRoot } from '../util/package-root.js';
import Docker from 'dockerode';
import { act, EXIT, newCommand, runCommand } from './command-line.js';
import type { Io } from './io.js';
import { auditImage } from '../images/image-audit.js';
import { buildImage, planImageBuilds, type ImageBuild } from '../images/image-builder.js';
import { readImageFacts } from '../images/image-facts.js';

/** Repo names: folders under images/repos/ that hold a toolchain.sh. */
async function knownRepos(imagesDir: string): Promise<string[]> {
  const entries = await readdir(join(imagesDir, 'repos'), { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory() && existsSync(join(imagesDir, 'repos', e.name, 'toolchain.sh'))).map((e) => e.name).sort();
}

async function imageExists(docker: Docker, ref: string): Promise<boolean> {
  return docker
    .getImage(ref)
    .inspect()
    .then(() => true, (err: { statusCode?: number }) => (err.statusCode === 404 ? false : Promise.reject(err)));
}

/** Removes the tag; a failure is said, so the output never claims an image is unusable when it is not. */
async function untag(docker: Docker, tag: string): Promise<string> {
  return docker
    .getImage(tag)
    .remove()
    .then(
      () => 'so it was untagged',
      (err: Error) => `and untagging it failed (${err.message}): remove it with docker rmi ${tag} before any profile uses it`,
    );
}

/** Builds and audits one image; an image that is leaky, or that could not be audited, is untagged so no profile starts it. */
async function buildAndAudit(docker: Docker, build: ImageBuild, io: Io): Promise<boolean> {
  io.stdout(`==> building ${build.tag}`);
  try {
    await buildImage(docker, build, (line) => io.stdout(`[${build.tag}] ${line}`));
  } catch (err) {
    io.stderr(`factory images build: ${(err as Error).message}`);
    return false;
  }
  let facts;
  try {
    facts = await readImageFacts(docker, build.tag);
  } catch (err) {
    io.stderr(`factory images build: ${build.tag} could not be audited (${(err as Error).message}), ${await untag(docker, build.tag)}`);
    return false;
  }
  const findings = auditImage(facts);
  if (findings.length > 0) {
    io.stderr(`factory images build: ${build.tag} carries credentials, ${await untag(docker, build.tag)}:\n${findings.map((f) => `  ${f}`).join('\n')}`);
    return false;
  }
  io.stdout(`==> ${build.tag} built; audit found no credentials in its env, labels, ${facts.history.length} history steps or ${facts.files.length} files read from its layers`);
  return true;
}

type BuildOptions = { repo?: string; tag?: string; base?: string; imagesDir?: string; network?: string };

export function imagesProgram(io: Io, docker: Docker = new Docker()) {
  const images = newCommand('images', io).summary('build the factory base image and per-repo images');
  const build = newCommand('build', io)
    .summary('build factory/base and the per-repo images through the Docker API, then audit each for credentials')
    .description('Without --repo: builds factory/base:VERSION, then factory/repo-NAME:VERSION for every folder in images/repos/.\nWith --repo: builds only that repo\'s image, on factory/base:VERSION (or --base IMAGE), which must exist.\nVERSION defaults to the factory package\'s version.')
    .option('--repo <name>', 'build only this repo\'s image')
    .option('--tag <version>', 'the version tag')
    .option('--base <image>', 'the base image for --repo')
    .option('--images-dir <dir>', 'where the Dockerfiles are')
    .option('--network <mode>', 'the build containers\' network');
  images.addCommand(act(build, (opts: BuildOptions) => buildImages(opts, io, docker)));
  return images;
}

export function imagesCommand(argv: string[], io: Io, docker: Docker = new Docker()): Promise<number> {
  return runCommand(imagesProgram(io, docker), argv, io);
}

async function buildImages(values: BuildOptions, io: Io, docker: Docker): Promise<number> {
  const root = packageRoot();
  const imagesDir = values.imagesDir ?? join(root, 'images');
  const version = values.tag ?? (JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  const plan = planImageBuilds({
    imagesDir,
    version,
    repos: await knownRepos(imagesDir),
    ...(values.repo === undefined ? {} : { repo: values.repo }),
    ...(values.base === undefined ? {} : { base: values.base }),
    ...(values.network === undefined ? {} : { network: values.network }),
  });
  if ('problem' in plan) {
    io.stderr(`factory images build: ${plan.problem}`);
    return EXIT.failed;
  }
  const first = plan.builds[0];
  const base = first?.buildArgs.BASE_IMAGE;
  try {
    if (base !== undefined && !(await imageExists(docker, base))) {
      io.stderr(`factory images build: base image ${base} is not on this Docker engine; build it first (factory images build) or pass --base IMAGE`);
      return EXIT.failed;
    }
    for (const build of plan.builds) {
      if (!(await buildAndAudit(docker, build, io))) return 1;
    }
  } catch (err) {
    io.stderr(`factory images build: Docker engine error: ${(err as Error).message}`);
    return EXIT.failed;
  }
  return EXIT.ok;
}
