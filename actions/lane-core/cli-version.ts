// The version of the CLI a lane runs, for the `cli-version` output: which release answered matters when a run is
// compared with another or a CLI regression is suspected. It is only for the report, so it never delays the agent:
// the installed package says it for the price of a file read, and a CLI installed without one is asked `--version`
// only once the agent itself is running (`claude --version` alone takes 300-500 ms on a small runner).
import { spawn } from 'node:child_process';
import { accessSync, constants, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, delimiter, dirname, isAbsolute, join } from 'node:path';
import type { Agent } from './lane-settings.js';

/** The npm package each CLI ships in (`npm install -g`, a project's node_modules, npx). */
const PACKAGES: Record<Agent, string> = { claude: '@anthropic-ai/claude-code', codex: '@openai/codex' };
/** How far above the binary its package.json may sit (`bin/claude.exe`, `bin/codex.js`: one level). */
const PACKAGE_DEPTH = 3;
export const ASK_TIMEOUT_MS = 10_000;

/** `2.1.197 (Claude Code)` and `codex-cli 0.169.0` both become the bare version. */
export function parseCliVersion(output: string): string | undefined {
  return /\b(\d+\.\d+\.\d+(?:[-+][\w.]+)?)\b/.exec(output)?.[1];
}

/** The file `name` runs as when spawned with this PATH (the first executable, as execvp picks), links followed. */
export function resolveOnPath(name: string, path: string | undefined): string | undefined {
  for (const dir of (path ?? '').split(delimiter)) {
    if (!isAbsolute(dir)) continue; // spawn would search relative to the working directory: not worth guessing
    const candidate = join(dir, name);
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return realpathSync(candidate);
    } catch {
      continue;
    }
  }
  return undefined;
}

/** The version the installed CLI carries on disk, without running it: the package.json of the npm package that owns
 * the binary, or the release folder of claude's native installer (`~/.local/share/claude/versions/2.1.197`). */
export function installedVersion(agent: Agent, path: string | undefined): string | undefined {
  const binary = resolveOnPath(agent, path);
  if (!binary) return undefined;
  if (basename(dirname(binary)) === 'versions') {
    const fromFolder = parseCliVersion(basename(binary));
    if (fromFolder) return fromFolder;
  }
  let dir = dirname(binary);
  for (let i = 0; i < PACKAGE_DEPTH; i++, dir = dirname(dir)) {
    let text: string;
    try {
      text = readFileSync(join(dir, 'package.json'), 'utf8');
    } catch {
      continue;
    }
    // The first package.json above the binary is its package's; a different name means another install layout.
    try {
      const pkg = JSON.parse(text) as { name?: unknown; version?: unknown };
      return pkg.name === PACKAGES[agent] && typeof pkg.version === 'string' ? parseCliVersion(pkg.version) : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Asks the CLI itself, stdin closed (a CLI that reads it would otherwise wait for ever) and under a deadline. */
export function askedVersion(
  agent: Agent,
  env: Record<string, string | undefined>,
  timeoutMs = ASK_TIMEOUT_MS,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const what = `\`${agent} --version\``;
    const child = spawn(agent, ['--version'], {
      env: { PATH: env.PATH, HOME: env.HOME },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = '';
    const deadline = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${what} gave no answer within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.on('error', (err) => {
      clearTimeout(deadline);
      reject(new Error(`${what} could not run (${(err as NodeJS.ErrnoException).code ?? err.message})`));
    });
    child.on('close', (code) => {
      clearTimeout(deadline);
      const version = parseCliVersion(out);
      if (version) resolve(version);
      else reject(new Error(`${what} exited ${code} without a version: ${JSON.stringify(out.trim().slice(0, 200))}`));
    });
  });
}

export interface CliVersionReader {
  /** Known before the agent starts when the install says it. */
  installed: string | undefined;
  /** Call once the agent's process runs: asks the CLI, if the install did not say, beside the agent. */
  agentStarted(): void;
  /** The version, or '' after a warning that says why it is unknown. */
  result(): Promise<string>;
}

export function cliVersionReader(
  agent: Agent,
  env: Record<string, string | undefined>,
  warn: (line: string) => void,
  ask: typeof askedVersion = askedVersion,
): CliVersionReader {
  const installed = installedVersion(agent, env.PATH);
  let asking: Promise<string> | undefined;
  return {
    installed,
    agentStarted: () => {
      if (!installed) asking ??= ask(agent, env).catch((err: Error) => (warn(`cli-version: ${err.message}`), ''));
    },
    result: async () => installed ?? (await asking) ?? '',
  };
}
