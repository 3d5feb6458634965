// The images a job's own Docker engine needs in tests, built once per machine and reused while their inputs are
// unchanged: the sidecar (as the e2e globalSetup builds it) and a stand-in runner that has the docker CLI.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { dockerSidecarBuild } from '../../controller/images/docker-sidecar-image.js';
import { ensureImage, inputsHash, type ImageBuild } from '../../controller/images/image-builder.js';
import { packageRoot } from '../../controller/util/package-root.js';

const root = packageRoot();
export const busyboxPath = () => execFileSync('sh', ['-c', 'command -v busybox'], { encoding: 'utf8' }).trim();

export async function ensureSidecarImage(docker: Docker): Promise<string> {
  const build = await dockerSidecarBuild(join(root, 'images'));
  await ensureImage(docker, build, () => {});
  return build.tag;
}

/** factory-test/runner-docker:<inputs>: the stand-in runner's run.sh on the sidecar image, so jobs have `docker`. */
export async function ensureDockerRunnerImage(docker: Docker): Promise<string> {
  const sidecar = await ensureSidecarImage(docker);
  const dir = join(root, 'test', 'fixtures', 'images', 'runner-docker');
  const build: ImageBuild = {
    tag: '',
    contextDir: dir,
    dockerfile: join(dir, 'Dockerfile'),
    buildArgs: { BASE_IMAGE: sidecar },
    sources: [
      { from: busyboxPath(), to: 'busybox' },
      { from: join(root, 'controller', 'github', 'standin', 'runner-image', 'run.sh'), to: 'run.sh' },
    ],
    network: 'none',
  };
  build.tag = `factory-test/runner-docker:${(await inputsHash(build)).slice(0, 12)}`;
  await ensureImage(docker, build, () => {});
  return build.tag;
}
