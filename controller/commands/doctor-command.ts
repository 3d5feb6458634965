// `factory doctor --config F [--profile P] [--agent] [--disk-threshold N]`: the edge around runDoctor.
import { parseArgs } from 'node:util';
import { describeProblems, loadConfig } from '../config/config.js';
import Docker from 'dockerode';
import { engineFor } from '../docker/engine-for.js';
import type { SwarmNode } from '../docker/swarm-placement.js';
import { gitHubClient, type GitHubApi } from '../github/github-client.js';
import { silentLogger } from '../observe/logger.js';
import { formatDoctor, runDoctor } from './doctor.js';

export async function doctorCommand(argv: string[], io: { stdout: (s: string) => void; stderr: (s: string) => void }, env = process.env): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { config: { type: 'string', short: 'c', default: 'factory.yml' }, profile: { type: 'string' }, agent: { type: 'boolean' }, 'disk-threshold': { type: 'string', default: '85' } },
  });
  const diskThreshold = Number(values['disk-threshold']);
  if (!Number.isFinite(diskThreshold) || diskThreshold <= 0 || diskThreshold > 100) {
    io.stderr(`factory doctor: --disk-threshold must be a percentage (1-100), got "${values['disk-threshold']}"`);
    return 2;
  }
  const loaded = await loadConfig(values.config!);
  if (!loaded.ok) {
    io.stderr(describeProblems(values.config!, loaded.problems));
    return 1;
  }
  const { config } = loaded;
  let github: GitHubApi | undefined;
  let githubError: string | undefined;
  try {
    github = await gitHubClient(config, env, silentLogger(), { retryAfterBaseValue: 100 });
  } catch (err) {
    githubError = (err as Error).message;
  }
  const swarmNodes = async () => (await new Docker({ socketPath: config.docker.socketPath }).listNodes()) as SwarmNode[];
  const rows = await runDoctor({ config, engine: engineFor(config), github, githubError, diskThreshold, swarmNodes }, values.profile, { agent: values.agent === true });
  io.stdout(formatDoctor(rows));
  return rows.every((r) => r.ok) ? 0 : 1;
}
