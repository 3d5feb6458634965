// `factory capabilities`: what a job can and cannot do on each profile of a config (Docker, services:, container:,
// sudo, host network, caches, secrets), read off the containers the controller would create.
import { describeProblems, loadConfig } from '../config/config.js';
import { capabilityTable } from '../daemon/job-capabilities.js';
import { act, configOption, EXIT, newCommand } from './command-line.js';
import type { Io } from './io.js';

export function capabilitiesCommand(io: Io) {
  const cmd = newCommand('capabilities', io)
    .summary('print what jobs can and cannot do on each profile, as a markdown table')
    .description(
      'Prints one row per profile: whether its jobs have Docker, services:, container:, sudo, the host network, caches between jobs, and which secrets. --by-kind prints the first profile of each kind (docs/job-capabilities.md is this for examples/factory.yml).',
    )
    .addOption(configOption())
    .option('--by-kind', 'one row per profile kind (Tier 1, codex lane, claude lane) and the Docker opt-in row');
  return act(cmd, async (opts: { config: string; byKind?: boolean }) => {
    const loaded = await loadConfig(opts.config);
    if (!loaded.ok) {
      io.stderr(describeProblems(opts.config, loaded));
      return EXIT.failed;
    }
    io.stdout(capabilityTable(loaded.config, { byKind: opts.byKind === true }));
    return EXIT.ok;
  });
}
