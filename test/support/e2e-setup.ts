// Once before the e2e project: every image the e2e tests run, built when missing or stale and reused after that. The
// demo's set-up (scripts/setup) builds only the stand-in images; the Debian base, factory/base and the Docker sidecar
// are for the tests alone, so they are built here, once, rather than on the way to the demo.
import Docker from 'dockerode';
import { ensureStandinImages } from '../../controller/commands/demo.js';
import { ensureSidecarImage } from './docker-sidecar.js';
import { ensureLocalBase } from './local-base.js';

export default async function setup(): Promise<void> {
  await ensureStandinImages();
  const docker = new Docker();
  const started = Date.now();
  // The engine's step lines only: a first build on a fresh machine takes minutes and should be seen to move.
  const base = await ensureLocalBase(docker, (line) => {
    if (/^Step \d+\/\d+/.test(line)) process.stderr.write(`e2e setup: ${line}\n`);
  });
  const sidecar = await ensureSidecarImage(docker);
  process.stderr.write(`e2e setup: ${base} and ${sidecar} ready in ${Math.round((Date.now() - started) / 1000)} s\n`);
}
