// `factory doctor`: the edge around runDoctor.
import { Option } from 'commander';
import { describeProblems, loadConfig } from '../config/config.js';
import Docker from 'dockerode';
import { dockerRootDir } from '../housekeeping/disk-usage.js';
import { engineFor } from '../docker/engine-for.js';
import type { SwarmNode } from '../docker/swarm-placement.js';
import { gitHubClient, type GitHubApi } from '../github/github-client.js';
import { silentLogger } from '../observe/logger.js';
import { act, configOption, EXIT, jsonOption, newCommand } from './command-line.js';
import { formatDoctor, runDoctor } from './doctor.js';
import type { Io } from './io.js';
import { errorMessage } from '../util/error-message.js';

type DoctorOptions = { config: string; profile?: string; diskThreshold?: string; agent?: boolean; json?: boolean };

export function doctorProgram(io: Io, env: NodeJS.ProcessEnv = process.env) {
  const cmd = newCommand('doctor', io)
    .summary("check each profile's connections from inside a container, then GitHub and the host")
    .description(
      'Starts a short-lived container per profile with exactly its mounts, network, user and environment and checks from inside; checks Docker, GitHub access per repo, the webhook secret and disk use. Exits 1 when a check fails.',
    )
    .addOption(configOption())
    .addOption(new Option('--profile <name>', 'check only this profile'))
    .addOption(new Option('--agent', "also run one canary turn of each agent profile's CLI in its lane"))
    .addOption(
      new Option(
        '--disk-threshold <percent>',
        "fail a disk above this use (default: the config's housekeeping.diskThreshold, 85)",
      ),
    )
    .addOption(jsonOption());
  return act(cmd, (opts: DoctorOptions) => doctor(opts, io, env));
}

async function doctor(opts: DoctorOptions, io: Io, env: NodeJS.ProcessEnv): Promise<number> {
  const loaded = await loadConfig(opts.config);
  if (!loaded.ok) {
    io.stderr(describeProblems(opts.config, loaded));
    return EXIT.failed;
  }
  const { config } = loaded;
  if (opts.profile !== undefined && !(opts.profile in config.profiles)) {
    const known = Object.keys(config.profiles).sort().join(', ') || 'none';
    io.stderr(`factory doctor: --profile ${opts.profile} is not a profile of ${opts.config} (profiles: ${known})`);
    return EXIT.usage;
  }
  const diskThreshold =
    opts.diskThreshold === undefined ? config.housekeeping.diskThreshold : Number(opts.diskThreshold);
  if (!Number.isFinite(diskThreshold) || diskThreshold <= 0 || diskThreshold > 100) {
    io.stderr(`factory doctor: --disk-threshold must be a percentage (1-100), got "${opts.diskThreshold}"`);
    return EXIT.usage;
  }
  let github: GitHubApi | undefined;
  let githubError: string | undefined;
  try {
    github = await gitHubClient(config, env, silentLogger(), { retryAfterBaseValue: 100 });
  } catch (err) {
    githubError = errorMessage(err);
  }
  const docker = new Docker({ socketPath: config.docker.socketPath });
  const swarmNodes = async () => (await docker.listNodes()) as SwarmNode[];
  const dockerRoot = await dockerRootDir(docker);
  const rows = await runDoctor(
    { config, engine: engineFor(config), github, githubError, diskThreshold, dockerRoot, env, swarmNodes },
    opts.profile,
    { agent: opts.agent === true },
  );
  io.stdout(opts.json ? JSON.stringify({ ok: rows.every((r) => r.ok), checks: rows }, null, 2) : formatDoctor(rows));
  return rows.every((r) => r.ok) ? EXIT.ok : EXIT.failed;
}
