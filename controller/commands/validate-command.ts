// `factory validate`: every problem of a config file at once, each with its line and path.
import { resolve } from 'node:path';
import { Option } from 'commander';
import { unreadableSecrets } from '../config/secret-check.js';
import { describeProblems, loadConfig, type ConfigProblem } from '../config/config.js';
import { formatProblem } from '../config/config-problems.js';
import { act, configOption, EXIT, jsonOption, newCommand } from './command-line.js';
import type { Io } from './io.js';
import { missingNetworks } from '../daemon/network-check.js';
import { dockerEngine } from '../docker/docker-engine.js';

export function validateCommand(io: Io) {
  const cmd = newCommand('validate', io)
    .summary('check a config file and list every problem with its line')
    .description(
      'Checks a config file as the controller would at start, and lists every problem at once as FILE:LINE: PATH: MESSAGE.',
    )
    .addOption(configOption())
    .addOption(
      new Option(
        '--secrets',
        "also read the secrets the controller reads at start (webhook secret, GitHub token or App key) from this process's environment and files",
      ),
    )
    .addOption(jsonOption());
  return act(cmd, async (opts: { config: string; json?: boolean; secrets?: boolean }) => {
    const loaded = await loadConfig(opts.config);
    // Docker networks are checked when the engine answers; without Docker the file alone is judged.
    const networks = loaded.ok
      ? await missingNetworks(
          loaded.config,
          dockerEngine(loaded.config.docker.socketPath, loaded.config.instance),
        ).catch(() => [])
      : [];
    const secrets = loaded.ok && opts.secrets ? await unreadableSecrets(loaded.config, process.env) : [];
    const refused = [...networks, ...secrets];
    const result: typeof loaded = refused.length > 0 ? { ok: false, problems: refused } : loaded;
    if (opts.json) {
      const problems: ConfigProblem[] = result.ok
        ? []
        : (result.details ?? result.problems.map((message) => ({ path: '(file)', message })));
      const summary = result.ok
        ? {
            repos: result.config.repos.length,
            orgs: result.config.orgs.length,
            profiles: Object.keys(result.config.profiles).length,
          }
        : {};
      const warnings = result.ok ? { warnings: result.warnings ?? [] } : {};
      io.stdout(
        JSON.stringify({ file: resolve(opts.config), ok: result.ok, ...summary, problems, ...warnings }, null, 2),
      );
      return result.ok ? EXIT.ok : EXIT.failed;
    }
    if (!result.ok) {
      io.stderr(describeProblems(opts.config, result));
      return EXIT.failed;
    }
    io.stdout(
      `${opts.config}: ok (${result.config.repos.length} repo(s), ${result.config.orgs.length ? `${result.config.orgs.length} org(s), ` : ''}${Object.keys(result.config.profiles).length} profile(s))`,
    );
    // Valid, and still worth changing: said on stderr so the ok line stays the one line a script reads.
    for (const w of result.warnings ?? []) io.stderr(formatProblem(opts.config, { ...w, path: `warning: ${w.path}` }));
    // Allowed because a reason was given, and still said every time: the operator reads what each such job can do.
    for (const [name, p] of Object.entries(result.config.profiles))
      if (p.docker?.mode === 'privileged')
        io.stdout(
          `  profile ${name}: privileged Docker sidecar, host-root-equivalent for its jobs (docs/job-docker.md); reason: ${p.docker.reason}`,
        );
    return EXIT.ok;
  });
}
