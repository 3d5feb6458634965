// A profile whose Docker network does not exist fails every one of its jobs at container create, leaving the job
// queued; so the controller refuses such a config when it starts or reloads, naming the profile and the network.
import type { Config } from '../config/config.js';
import type { Engine } from '../docker/docker-engine.js';

const BUILT_IN = new Set(['none', 'bridge', 'host', 'default']);

/** One message per profile whose network Docker does not know; empty when all exist (or are built in). */
export async function missingNetworks(config: Config, engine: Pick<Engine, 'hasNetwork'>): Promise<string[]> {
  const problems: string[] = [];
  for (const [name, profile] of Object.entries(config.profiles)) {
    const network = profile.network;
    if (BUILT_IN.has(network) || network.startsWith('container:')) continue;
    if (!(await engine.hasNetwork(network)))
      problems.push(
        `profiles.${name}.network: Docker has no network named "${network}" (create it with docker network create, or use none, bridge or host)`,
      );
  }
  return problems;
}

/** Throws the problems when a profile names a Docker network that does not exist; says nothing while Docker does not answer. */
export async function refuseMissingNetworks(config: Config, engine: Pick<Engine, 'hasNetwork'>): Promise<void> {
  const problems = await missingNetworks(config, engine).catch(() => []);
  if (problems.length > 0) throw new Error(problems.join('\n'));
}
