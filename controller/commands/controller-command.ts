// `factory controller`: runs the controller until SIGTERM or SIGINT, applying valid config edits live.
import { describeProblems, loadConfig } from '../config/config.js';
import { watchConfig } from '../config/config-watcher.js';
import { startService } from '../daemon/service.js';
import { createLogger } from '../observe/logger.js';
import { act, configOption, EXIT, logLevelOption, newCommand } from './command-line.js';
import type { Io } from './io.js';
import { errorMessage } from '../util/error-message.js';

export function controllerCommand(io: Io) {
  const cmd = newCommand('controller', io)
    .summary('run the controller (webhook server, runners, reconcile loop)')
    .description(
      'Runs the controller: the webhook receiver, the status endpoint, the reconcile loop and one container per job. Reloads the config on SIGHUP and when the file changes; stops taking jobs on SIGTERM.',
    )
    .addOption(configOption())
    .addOption(logLevelOption());
  return act(cmd, async (opts: { config: string; logLevel: string }) => {
    const result = await loadConfig(opts.config);
    if (!result.ok) {
      io.stderr(describeProblems(opts.config, result, 'refusing to start, '));
      return EXIT.failed;
    }
    const log = createLogger({ level: opts.logLevel });
    // Listening from the start: the ports open before the first reconcile, so a SIGTERM can come while it runs, and
    // must stop the controller cleanly once it is up rather than kill it half-started.
    const stopping = new Promise<string>((resolve) => {
      process.once('SIGTERM', () => resolve('SIGTERM'));
      process.once('SIGINT', () => resolve('SIGINT'));
    });
    let service;
    try {
      service = await startService({ config: result.config, log });
    } catch (err) {
      io.stderr(`factory controller: ${errorMessage(err)}`);
      return EXIT.failed;
    }
    // Edits (by hand, or by `factory repos`) apply live when valid; a bad edit is logged and the old config stays.
    const watcher = await watchConfig(opts.config, async (change) => {
      if (!change.ok)
        return log.error({ problems: change.problems }, 'config change refused; the running config stays');
      const blocked = await service.reloadConfig(change.config).catch((err: Error) => {
        log.error({ problems: err.message.split('\n') }, 'config change refused; the running config stays');
        return [];
      });
      if (blocked.length > 0)
        log.warn({ keys: blocked }, 'config change needs a restart to apply; the running config stays');
    });
    log.info({ config: opts.config }, 'watching the config file for changes (SIGHUP reloads it too)');
    const signal = await stopping;
    log.info({ signal }, `${signal}: stopping; no new jobs are taken, and running jobs keep their containers`);
    watcher.stop();
    await service.stop();
    return EXIT.ok;
  });
}
