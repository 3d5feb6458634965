// The image behind a job's own Docker engine (images/docker-sidecar): FROM the local Debian base with Debian's
// docker.io, tagged by its inputs hash like the local factory/base, so a machine builds it once per set of inputs.
import { join } from 'node:path';
import { inputsHash, type ImageBuild } from './image-builder.js';
import { LOCAL_DISTRO } from './local-base.js';

export async function dockerSidecarBuild(imagesDir: string, distro: string = LOCAL_DISTRO): Promise<ImageBuild> {
  const dir = join(imagesDir, 'docker-sidecar');
  const build: ImageBuild = {
    tag: '',
    contextDir: dir,
    dockerfile: join(dir, 'Dockerfile'),
    buildArgs: { BASE_IMAGE: distro },
    // The packages come from Debian's archive.
    network: 'host',
  };
  build.tag = `factory-local/docker-sidecar:${(await inputsHash(build)).slice(0, 12)}`;
  return build;
}
