// `factory <command>`: builds the command line (one file per command) and runs it; the work lives in the modules the
// commands call.
import { packageVersion } from '../util/package-version.js';
import { newCommand, runProgram } from './command-line.js';
import { capabilitiesCommand } from './capabilities-command.js';
import { controllerCommand } from './controller-command.js';
import { demoCommand } from './demo.js';
import { doctorProgram } from './doctor-command.js';
import { imagesProgram } from './images-command.js';
import { indexProgram } from './index-command.js';
import { initCommand } from './init-command.js';
import { laneProgram } from './lane-command.js';
import { processIo, type Io } from './io.js';
import { pruneProgram } from './prune-command.js';
import { reposProgram } from './repos-command.js';
import { schemaCommand } from './schema-command.js';
import { statusProgram } from './status-command.js';
import { validateCommand } from './validate-command.js';

export function program(io: Io) {
  const root = newCommand('factory', io)
    .description(
      'Ephemeral GitHub Actions runner containers per job on one Docker host, and agent lanes for codex and claude.',
    )
    .version(packageVersion(), '-V, --version', 'print the version')
    .addHelpText(
      'after',
      "\nRun `factory COMMAND --help` for a command's options. Docs: docs/cli.md, docs/operations.md.",
    );
  for (const command of [
    initCommand(io),
    validateCommand(io),
    schemaCommand(io),
    capabilitiesCommand(io),
    controllerCommand(io),
    statusProgram(io),
    doctorProgram(io),
    reposProgram(io),
    imagesProgram(io),
    indexProgram(io),
    laneProgram(io),
    pruneProgram(io),
    demoCommand(io),
  ]) {
    root.addCommand(command);
  }
  // The root has no action of its own: bare `factory` prints the usage to stderr and exits 1, as git does.
  return root;
}

export async function main(argv: string[], io: Io = processIo): Promise<number> {
  return runProgram(program(io), argv, io);
}
