// `factory repos add|set|remove|list`: edits factory.yml in place (comments, order and untouched lines kept),
// validates the result with the controller's own parser, and refuses to write a file the controller would refuse.
import { readFile, realpath } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { replaceFileAtomically } from '../../lane-contract/atomic-file.js';
import { configReadProblem, parseConfig, type RepoConfig } from '../config/config.js';
import { addRepo, removeRepo, setRepo, type EditResult } from '../config/repos-editor.js';
import { table } from '../status/status-table.js';
import { act, configOption, EXIT, jsonOption, newCommand } from './command-line.js';
import type { Io } from './io.js';

/** The file edge: reading and atomically replacing the config file. */
export interface ConfigFile {
  read(path: string): Promise<string>;
  replace(path: string, text: string): Promise<void>;
}

export function formatRepoTable(repos: readonly RepoConfig[]): string {
  return table(
    ['REPO', 'PROFILES', 'MAX CONCURRENT'],
    repos.map((r) => [r.repo, r.profiles.join(','), String(r.maxConcurrent)]),
  );
}

export const fsConfigFile: ConfigFile = {
  read: (path) => readFile(path, 'utf8'),
  // A symlinked config (into a dotfiles or config-management checkout) stays a symlink: the link's target is replaced.
  replace: async (path, text) => replaceFileAtomically(await realpath(path), text),
};

const code = (err: unknown) => (err as NodeJS.ErrnoException).code ?? String(err);

type EditOptions = { config: string; profiles?: string; maxConcurrent?: string };

export function reposProgram(io: Io, files: ConfigFile = fsConfigFile): Command {
  const repos = newCommand('repos', io).summary(
    'list or edit the repos of a config file in place (comments and order kept)',
  );
  const profiles = () => new Option('--profiles <p1,p2>', "the profiles whose labels this repo's jobs may ask for");
  const max = () => new Option('--max-concurrent <n>', 'job containers of this repo at once');
  repos.addCommand(
    act(
      newCommand('add', io)
        .summary('add a repo')
        .argument('<owner/name>')
        .addOption(profiles().makeOptionMandatory())
        .addOption(max())
        .addOption(configOption()),
      (repo: string, opts: EditOptions) => edit('add', repo, opts, io, files),
    ),
  );
  repos.addCommand(
    act(
      newCommand('set', io)
        .summary("change a configured repo's profiles or max concurrent")
        .argument('<owner/name>')
        .addOption(profiles())
        .addOption(max())
        .addOption(configOption()),
      (repo: string, opts: EditOptions) => edit('set', repo, opts, io, files),
    ),
  );
  repos.addCommand(
    act(
      newCommand('remove', io).summary('remove a repo').argument('<owner/name>').addOption(configOption()),
      (repo: string, opts: EditOptions) => edit('remove', repo, opts, io, files),
    ),
  );
  repos.addCommand(
    act(
      newCommand('list', io).summary('list the configured repos').addOption(configOption()).addOption(jsonOption()),
      (opts: { config: string; json?: boolean }) => list(opts, io, files),
    ),
  );
  return repos;
}

function parseProfiles(profiles: string | undefined): string[] | undefined | { problem: string } {
  if (profiles === undefined) return undefined;
  const names = profiles
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  return names.length > 0 ? names : { problem: '--profiles needs at least one profile, e.g. --profiles ci,codex' };
}

function parseMax(value: string | undefined): number | undefined | { problem: string } {
  if (value === undefined) return undefined;
  return /^\d+$/.test(value)
    ? Number(value)
    : { problem: `--max-concurrent expects a whole number, got ${JSON.stringify(value)}` };
}

async function edit(
  verb: 'add' | 'set' | 'remove',
  repo: string,
  opts: EditOptions,
  io: Io,
  files: ConfigFile,
): Promise<number> {
  const file = opts.config;
  const profiles = parseProfiles(opts.profiles);
  const maxConcurrent = parseMax(opts.maxConcurrent);
  for (const parsed of [profiles, maxConcurrent]) {
    if (parsed !== undefined && typeof parsed === 'object' && 'problem' in parsed) {
      io.stderr(`factory repos ${verb}: ${parsed.problem}`);
      return EXIT.usage;
    }
  }
  if (verb === 'set' && profiles === undefined && maxConcurrent === undefined) {
    io.stderr('factory repos set: nothing to change: give --profiles, --max-concurrent or both');
    return EXIT.usage;
  }
  let text: string;
  try {
    text = await files.read(file);
  } catch (err) {
    io.stderr(`factory repos ${verb}: ${configReadProblem(file, err)}`);
    return EXIT.failed;
  }
  const change = {
    repo,
    ...(profiles === undefined ? {} : { profiles: profiles as string[] }),
    ...(maxConcurrent === undefined ? {} : { maxConcurrent: maxConcurrent as number }),
  };
  const result: EditResult =
    verb === 'add'
      ? addRepo(text, { ...change, profiles: change.profiles ?? [] }, file)
      : verb === 'set'
        ? setRepo(text, change, file)
        : removeRepo(text, repo, file);
  if (!result.ok && result.absent) {
    io.stderr(
      `factory repos ${verb}: ${repo} is not in ${file}, so nothing changed (factory repos list shows what is configured${verb === 'set' ? '; factory repos add adds it' : ''})`,
    );
    return EXIT.failed;
  }
  if (!result.ok) {
    io.stderr(
      `factory repos ${verb}: refusing to write ${file}, the result would be invalid:\n${result.problems.map((p) => `  ${p}`).join('\n')}`,
    );
    return EXIT.failed;
  }
  try {
    await files.replace(file, result.text);
  } catch (err) {
    io.stderr(`factory repos ${verb}: cannot write ${file} (${code(err)}); it is unchanged`);
    return EXIT.failed;
  }
  io.stdout(
    `${{ add: 'added', set: 'changed', remove: 'removed' }[verb]} ${repo} ${{ add: 'to', set: 'in', remove: 'from' }[verb]} ${file}`,
  );
  return EXIT.ok;
}

async function list(opts: { config: string; json?: boolean }, io: Io, files: ConfigFile): Promise<number> {
  let text: string;
  try {
    text = await files.read(opts.config);
  } catch (err) {
    io.stderr(`factory repos list: ${configReadProblem(opts.config, err)}`);
    return EXIT.failed;
  }
  const result = parseConfig(text, opts.config);
  if (!result.ok) {
    io.stderr(`factory repos list: ${opts.config} is invalid:\n${result.problems.map((p) => `  ${p}`).join('\n')}`);
    return EXIT.failed;
  }
  io.stdout(opts.json ? JSON.stringify(result.config.repos, null, 2) : formatRepoTable(result.config.repos));
  return EXIT.ok;
}
