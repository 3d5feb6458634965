// `factory init`: writes a commented starting config that validates as written, never over an existing file.
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Option } from 'commander';
import { SCHEMA_PATH } from '../config/config-json-schema.js';
import { starterConfig } from '../config/starter-config.js';
import { packageRoot } from '../util/package-root.js';
import { act, configOption, EXIT, newCommand } from './command-line.js';
import type { Io } from './io.js';

export function initCommand(io: Io) {
  const cmd = newCommand('init', io)
    .summary('write a commented starting config')
    .description(
      'Writes a commented starting config (one CI profile, one repo, the lane profiles in comments) that validates as written.',
    )
    .addOption(configOption().default('factory.yml'))
    .addOption(new Option('--force', 'replace an existing file'));
  return act(cmd, async (opts: { config: string; force?: boolean }) => {
    const file = resolve(opts.config);
    try {
      // `wx` refuses an existing file in the same call that creates it: no check-then-write race over a real config.
      await writeFile(file, starterConfig(join(packageRoot(), SCHEMA_PATH)), {
        flag: opts.force ? 'w' : 'wx',
        mode: 0o640,
      });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      io.stderr(
        code === 'EEXIST'
          ? `factory init: ${file} exists; pass --force to replace it`
          : `factory init: cannot write ${file} (${code ?? String(err)})`,
      );
      return EXIT.failed;
    }
    io.stdout(
      `wrote ${file}: set FACTORY_GITHUB_TOKEN and FACTORY_WEBHOOK_SECRET, edit repos, then run factory validate --config ${opts.config}`,
    );
    return EXIT.ok;
  });
}
