// factory/base as a machine without image registries or release hosts builds it: FROM the Debian that
// scripts/build-debian-base.sh imports, with the local upstream stage. Tags carry the inputs hash, so engines shared
// by several checkouts keep one image per set of inputs and none rebuilds another's.
import type { BasePlanOptions } from './base-plan.js';

export const LOCAL_DISTRO = 'factory-local/debian:bookworm';

export function localBaseOptions(imagesDir: string, distro: string = LOCAL_DISTRO): BasePlanOptions {
  return {
    imagesDir,
    upstream: 'local',
    distro,
    upstreamTag: (inputs) => `factory-local/upstream:${inputs.slice(0, 12)}`,
    baseTag: (inputs) => `factory-local/base:${inputs.slice(0, 12)}`,
    // The distribution's packages come from its archive; npm packages are installed on the host beforehand.
    network: 'host',
  };
}
