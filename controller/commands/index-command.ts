// `factory index build --repo OWNER/NAME --checkout DIR`: a repo's code index for the lanes' codegraph, built in
// factory/base from a checkout on the host and published under stateDir/codegraph (lanes/code-index.ts), run from a
// timer on the host (docs/lanes.md#code-index). `factory index list`: what is published, and how old it is.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Option } from 'commander';
import { describeProblems, loadConfig } from '../config/config.js';
import { hostView } from '../config/trust-gate.js';
import { dockerEngine } from '../docker/docker-engine.js';
import { baseTag } from '../images/image-builder.js';
import { buildCodeIndex, listCodeIndexes, type IndexFacts } from '../lanes/code-index.js';
import { errorMessage } from '../util/error-message.js';
import { packageVersion } from '../util/package-version.js';
import { act, configOption, EXIT, jsonOption, newCommand } from './command-line.js';
import type { Io } from './io.js';

/** Names the repo on a build's container, so `docker ps` tells what it is. */
export const INDEX_BUILD_LABEL = 'factory.code-index';

type BuildOptions = { config: string; repo: string; checkout: string; image?: string; json?: boolean };

export function indexProgram(io: Io) {
  const build = newCommand('build', io)
    .summary("build a repo's code index for the lanes' codegraph")
    .description(
      'Indexes the commit checked out in DIR (a shallow clone of its HEAD, never uncommitted changes) with codegraph in the image, in a container without network, and publishes it as stateDir/codegraph/OWNER/NAME in one rename: a lane copies the old index or the new one, never half. Lanes get it through a data mount of stateDir/codegraph (docs/lanes.md#code-index).',
    )
    .addOption(configOption())
    .addOption(
      new Option('--repo <owner/name>', 'the repo the index is for, as its jobs name it').makeOptionMandatory(),
    )
    .addOption(new Option('--checkout <dir>', 'a git checkout of the repo on this host').makeOptionMandatory())
    .addOption(new Option('--image <ref>', 'the image that has codegraph (default: factory/base of this version)'))
    .addOption(jsonOption());
  act(build, (opts: BuildOptions) => runIndexBuild(opts, io));
  const list = newCommand('list', io)
    .summary('the published code indexes: repo, commit and age')
    .addOption(configOption())
    .addOption(jsonOption());
  act(list, (opts: { config: string; json?: boolean }) => runIndexList(opts, io));
  return newCommand('index', io).summary("the lanes' code indexes").addCommand(build).addCommand(list);
}

const ageOf = (ms: number) =>
  ms < 3600_000
    ? `${Math.max(0, Math.round(ms / 60_000))} min`
    : ms < 2 * 86_400_000
      ? `${Math.round(ms / 3600_000)} h`
      : `${Math.round(ms / 86_400_000)} d`;

/** One line per index: its repo, the commit it was built from and how long ago, what it holds and which image built it. */
export function formatIndexList(indexes: IndexFacts[], now: Date): string {
  if (indexes.length === 0) return 'no code index published yet (factory index build)';
  return indexes
    .map(
      (f) =>
        `${f.repo}  ${f.commit.slice(0, 12)}  built ${ageOf(now.getTime() - Date.parse(f.builtAt))} ago  ${f.files} files, ${f.nodes} nodes  ${f.image}`,
    )
    .join('\n');
}

async function runIndexList(opts: { config: string; json?: boolean }, io: Io): Promise<number> {
  const loaded = await loadConfig(opts.config);
  if (!loaded.ok) {
    io.stderr(describeProblems(opts.config, loaded));
    return EXIT.failed;
  }
  const indexes = await listCodeIndexes(loaded.config.stateDir);
  io.stdout(opts.json ? JSON.stringify(indexes, null, 2) : formatIndexList(indexes, new Date()));
  return EXIT.ok;
}

async function runIndexBuild(opts: BuildOptions, io: Io): Promise<number> {
  const checkout = resolve(opts.checkout);
  if (!existsSync(`${checkout}/.git`)) {
    io.stderr(`factory index build: --checkout ${checkout} is not a git checkout (no .git in it)`);
    return EXIT.usage;
  }
  const loaded = await loadConfig(opts.config);
  if (!loaded.ok) {
    io.stderr(describeProblems(opts.config, loaded));
    return EXIT.failed;
  }
  const { config } = loaded;
  const engine = dockerEngine(config.docker.socketPath, config.instance);
  // Not factory.managed: a running controller would take a container with that label for a runner of its own.
  const labels = { [INDEX_BUILD_LABEL]: opts.repo };
  try {
    const { path, facts } = await buildCodeIndex(
      { run: (spec, timeoutMs) => engine.runToExit({ ...spec, Labels: labels }, timeoutMs), now: () => new Date() },
      {
        stateDir: config.stateDir,
        repo: opts.repo,
        checkout,
        image: opts.image ?? baseTag(packageVersion()),
        user: `${process.getuid?.() ?? 1000}:${process.getgid?.() ?? 1000}`,
        hostView: (p) => hostView(p, config.hostPathMap),
      },
    );
    io.stdout(
      opts.json
        ? JSON.stringify({ path, ...facts }, null, 2)
        : `indexed ${facts.repo} at ${facts.commit.slice(0, 12)}: ${facts.files} files, ${facts.nodes} nodes, ${Math.round(facts.bytes / 1024)} KiB in ${path}`,
    );
    return EXIT.ok;
  } catch (err) {
    io.stderr(`factory index build: ${errorMessage(err)}`);
    return err instanceof Error && err.message.startsWith('--repo:') ? EXIT.usage : EXIT.failed;
  }
}
