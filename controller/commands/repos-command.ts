// `factory repos add|remove|list`: edits factory.yml in place (comments and order kept), validates the result with
// the controller's own parser, and refuses to write a file the controller would refuse to start on.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { replaceFileAtomically } from '../../lane-contract/atomic-file.js';
import type { Io } from './io.js';
import { parseConfig, type RepoConfig } from '../config/config.js';
import { addRepo, removeRepo, type EditResult, type RepoEntry } from '../config/repos-editor.js';
import { table } from '../observe/status-table.js';

/** The file edge: reading and atomically replacing the config file. */
export interface ConfigFile {
  read(path: string): Promise<string>;
  replace(path: string, text: string): Promise<void>;
}

export function formatRepoTable(repos: readonly RepoConfig[]): string {
  return table(['REPO', 'PROFILES', 'MAX CONCURRENT'], repos.map((r) => [r.repo, r.profiles.join(','), String(r.maxConcurrent)]));
}

export const fsConfigFile: ConfigFile = { read: (path) => readFile(path, 'utf8'), replace: replaceFileAtomically };

const USAGE = `usage:
  factory repos add OWNER/NAME --profiles P1,P2 [--max-concurrent N] [--config F]
  factory repos remove OWNER/NAME [--config F]
  factory repos list [--config F]`;

export async function reposCommand(argv: string[], io: Io, files: ConfigFile = fsConfigFile): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c', default: 'factory.yml' },
        profiles: { type: 'string' },
        'max-concurrent': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    io.stderr(`factory repos: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = args;
  const [verb, repo, ...extra] = positionals;
  if (values.help) {
    io.stdout(USAGE);
    return 0;
  }
  const file = values.config;
  if (verb === 'list' && repo === undefined) return list(file, io, files);
  if ((verb === 'add' || verb === 'remove') && repo !== undefined && extra.length === 0) {
    let text: string;
    try {
      text = await files.read(file);
    } catch (err) {
      io.stderr(`factory repos ${verb}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
      return 1;
    }
    let result: EditResult;
    if (verb === 'add') {
      const entry = addArguments(repo, values.profiles, values['max-concurrent']);
      if ('problem' in entry) {
        io.stderr(`factory repos add: ${entry.problem}\n${USAGE}`);
        return 2;
      }
      result = addRepo(text, entry, file);
    } else {
      result = removeRepo(text, repo, file);
    }
    if (!result.ok) {
      io.stderr(`factory repos ${verb}: refusing to write ${file}, the result would be invalid:\n${result.problems.map((p) => `  ${p}`).join('\n')}`);
      return 1;
    }
    try {
      await files.replace(file, result.text);
    } catch (err) {
      io.stderr(`factory repos ${verb}: cannot write ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)}); it is unchanged`);
      return 1;
    }
    io.stdout(`${verb === 'add' ? 'added' : 'removed'} ${repo} ${verb === 'add' ? 'to' : 'from'} ${file}`);
    return 0;
  }
  io.stderr(`factory repos: expected add, remove or list\n${USAGE}`);
  return 2;
}

function addArguments(repo: string, profiles: string | undefined, maxConcurrent: string | undefined): RepoEntry | { problem: string } {
  const names = (profiles ?? '').split(',').map((p) => p.trim()).filter(Boolean);
  if (names.length === 0) return { problem: '--profiles is required, e.g. --profiles ci,codex' };
  if (maxConcurrent === undefined) return { repo, profiles: names };
  if (!/^\d+$/.test(maxConcurrent)) return { problem: `--max-concurrent expects a whole number, got ${JSON.stringify(maxConcurrent)}` };
  return { repo, profiles: names, maxConcurrent: Number(maxConcurrent) };
}

async function list(file: string, io: Io, files: ConfigFile): Promise<number> {
  let text: string;
  try {
    text = await files.read(file);
  } catch (err) {
    io.stderr(`factory repos list: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    return 1;
  }
  const result = parseConfig(text, file);
  if (!result.ok) {
    io.stderr(`factory repos list: ${file} is invalid:\n${result.problems.map((p) => `  ${p}`).join('\n')}`);
    return 1;
  }
  io.stdout(formatRepoTable(result.config.repos));
  return 0;
}
