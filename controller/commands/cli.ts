// `factory <command>`: parses arguments and starts things; the work lives in the modules it calls.
import { parseArgs } from 'node:util';
import { describeProblems, loadConfig } from '../config/config.js';
import { createLogger } from '../observe/logger.js';
import { startService } from '../daemon/service.js';
import { missingNetworks } from '../daemon/network-check.js';
import { dockerEngine } from '../docker/docker-engine.js';
import { runDemo } from './demo.js';
import { doctorCommand } from './doctor-command.js';
import { watchConfig } from '../config/config-watcher.js';
import { pruneCommand } from './prune-command.js';
import { imagesCommand } from './images-command.js';
import { reposCommand } from './repos-command.js';
import { statusCommand } from './status-command.js';
import { processIo, type Io } from './io.js';

export type { Io } from './io.js';


const USAGE = `usage: factory <command> [options]

commands:
  controller --config F   run the controller (webhook server, runners, reconcile loop)
  validate --config F     check a config file and list every problem with its path
  doctor --config F [--profile P] [--agent] [--disk-threshold 85]
                          check each profile's connections from inside a container, and the host
  demo                    run one job end to end against a local GitHub stand-in and the local Docker engine
  repos add|remove|list   edit the repos of a config file in place (comments and order kept)
  images build [--repo R] build the factory base image and per-repo images through the Docker API
  prune [--older-than 24h] remove exited factory containers, dangling images and build cache
  status [--job ID]       ask the running controller: repos, profiles, runners, queue, recent jobs, one job's timeline
`;

type Command = (argv: string[], io: Io) => Promise<number>;

const commands: Record<string, Command> = {
  validate: async (argv, io) => {
    const { values } = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c', default: 'factory.yml' } } });
    const result = await loadConfig(values.config!);
    if (!result.ok) {
      io.stderr(describeProblems(values.config!, result.problems));
      return 1;
    }
    const { config } = result;
    // Docker networks are checked when the engine answers; without Docker the file alone is judged.
    const networks = await missingNetworks(config, dockerEngine(config.docker.socketPath, config.instance)).catch(() => []);
    if (networks.length > 0) {
      io.stderr(describeProblems(values.config!, networks));
      return 1;
    }
    io.stdout(`${values.config}: ok (${config.repos.length} repo(s), ${Object.keys(config.profiles).length} profile(s))`);
    return 0;
  },

  controller: async (argv, io) => {
    const { values } = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c', default: 'factory.yml' } } });
    const result = await loadConfig(values.config!);
    if (!result.ok) {
      io.stderr(describeProblems(values.config!, result.problems, 'refusing to start, '));
      return 1;
    }
    const log = createLogger();
    let service;
    try {
      service = await startService({ config: result.config, log });
    } catch (err) {
      io.stderr(`factory controller: ${(err as Error).message}`);
      return 1;
    }
    // Edits (by hand, or by `factory repos`) apply live when valid; a bad edit is logged and the old config stays.
    const watcher = await watchConfig(values.config!, async (change) => {
      if (!change.ok) return log.error({ problems: change.problems }, 'config change refused; the running config stays');
      const blocked = await service.reloadConfig(change.config).catch((err: Error) => {
        log.error({ problems: err.message.split('\n') }, 'config change refused; the running config stays');
        return [];
      });
      if (blocked.length > 0) log.warn({ keys: blocked }, 'config change needs a restart to apply; the running config stays');
    });
    log.info({ config: values.config }, 'watching the config file for changes (SIGHUP reloads it too)');
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        log.info({ signal }, 'stopping: no new jobs are taken');
        resolve();
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
    watcher.stop();
    await service.stop();
    return 0;
  },

  demo: async (argv, io) => runDemo(argv, io),
  doctor: async (argv, io) => doctorCommand(argv, io),
  repos: async (argv, io) => reposCommand(argv, io),
  images: async (argv, io) => imagesCommand(argv, io),
  prune: async (argv, io) => pruneCommand(argv, io),
  status: async (argv, io) => statusCommand(argv, io),
};

export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(USAGE);
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    io.stderr(`factory: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  try {
    return await command(rest, io);
  } catch (err) {
    // parseArgs throws for unknown options; say which, not a stack trace.
    io.stderr(`factory ${name}: ${(err as Error).message}`);
    return 2;
  }
}
