// The shared shape of every `factory` command, on commander: help on each (`-h, --help`), suggestions for typos,
// errors and usage on stderr, and one exit-code rule. Commands return their exit code; commander never exits.
import { Command, CommanderError, Option } from 'commander';
import { LOG_LEVELS } from '../observe/logger.js';
import type { Io } from './io.js';
import { errorMessage } from '../util/error-message.js';

/** Exit codes: 0 done, 1 the work failed (or bare `factory`, as git does), 2 the command line itself was wrong. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

const trimmed = (s: string) => s.replace(/\n$/, '');

const pathOf = (cmd: Command): string => (cmd.parent ? `${pathOf(cmd.parent)} ${cmd.name()}` : cmd.name());

export function newCommand(name: string, io: Io): Command {
  const cmd: Command = new Command(name);
  return cmd
    .configureOutput({
      writeOut: (s) => io.stdout(trimmed(s)),
      writeErr: (s) => io.stderr(trimmed(s)),
      // `factory repos add: required option …`, as the commands' own errors read, not commander's `error: …`.
      outputError: (s, write) => write(s.replace(/^error: /, `${pathOf(cmd)}: `)),
    })
    .exitOverride()
    .showSuggestionAfterError(true)
    .showHelpAfterError('(run with --help for usage)')
    .helpOption('-h, --help', 'show this help');
}

export const configOption = () =>
  new Option('-c, --config <file>', 'the config file').env('FACTORY_CONFIG').default('factory.yml');

/** `--log-level`: a name (info, debug, ...), also from FACTORY_LOG_LEVEL; commander refuses any other word. */
export const logLevelOption = () =>
  new Option('--log-level <level>', 'the least severe log lines shown')
    .choices(LOG_LEVELS)
    .env('FACTORY_LOG_LEVEL')
    .default('info');

export const jsonOption = () => new Option('--json', 'print JSON instead of text (for scripts)');

const exitCodes = new WeakMap<Command, number>();
const rootOf = (cmd: Command): Command => (cmd.parent ? rootOf(cmd.parent) : cmd);

/** Registers the action; the number it returns is the process's exit code. */
export function act<Args extends unknown[]>(cmd: Command, handler: (...args: Args) => Promise<number>): Command {
  return cmd.action(async (...args: unknown[]) => {
    exitCodes.set(rootOf(cmd), await handler(...(args as Args)));
  });
}

/** Parses argv (without node and script) and runs the chosen command; never throws for bad input. */
export async function runProgram(program: Command, argv: readonly string[], io: Io): Promise<number> {
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCodes.get(program) ?? EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT.ok;
      if (err.code === 'commander.help') return err.exitCode === 0 ? EXIT.ok : EXIT.failed;
      return EXIT.usage;
    }
    io.stderr(`factory: ${errorMessage(err)}`);
    return EXIT.failed;
  }
}

/** One command under a bare `factory` root: how tests and other callers run a single command's argv. */
export function runCommand(cmd: Command, argv: readonly string[], io: Io): Promise<number> {
  const root = newCommand('factory', io).addCommand(cmd);
  return runProgram(root, [cmd.name(), ...argv], io);
}
