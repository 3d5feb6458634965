// `factory prune`: frees what the factory leaves on a Docker host over time: exited runner containers the controller
// never got to remove, dangling images from image rebuilds, and old build cache.
import Docker from 'dockerode';
import { act, EXIT, jsonOption, newCommand, runCommand } from './command-line.js';
import type { Io } from './io.js';
import { LABEL } from '../daemon/runner-spec.js';
import { parseDuration } from '../config/units.js';

export type PruneReport = { containers: string[]; images: string[]; cacheEntries: number; bytes: number };

/**
 * Docker's prune filters. `until` takes a Go duration and compares whole seconds, so an age of 0 leaves it out:
 * otherwise what was made this second would survive a prune of everything.
 */
export function pruneFilters(olderThanMs: number, instance?: string) {
  const until = olderThanMs > 0 ? { until: [`${Math.ceil(olderThanMs / 1000)}s`] } : {};
  return {
    containers: { label: [`${LABEL.managed}=true`, ...(instance === undefined ? [] : [`${LABEL.instance}=${instance}`])], ...until },
    // Only images our Dockerfiles labelled: the host's other dangling images are not ours to remove.
    images: { dangling: ['true'], label: ['factory.image'], ...until },
    buildCache: { ...until },
  };
}

export async function prune(docker: Docker, olderThanMs: number, instance?: string): Promise<PruneReport> {
  const filters = pruneFilters(olderThanMs, instance);
  const containers = await docker.pruneContainers({ filters: filters.containers });
  const images = await docker.pruneImages({ filters: filters.images });
  const cache = (await docker.pruneBuilder({ filters: filters.buildCache } as Docker.PruneBuilderOptions)) as { CachesDeleted?: string[] | null; SpaceReclaimed?: number };
  return {
    containers: containers.ContainersDeleted ?? [],
    images: (images.ImagesDeleted ?? []).flatMap((i) => (i.Deleted ? [i.Deleted] : [])),
    cacheEntries: cache.CachesDeleted?.length ?? 0,
    bytes: (containers.SpaceReclaimed ?? 0) + (images.SpaceReclaimed ?? 0) + (cache.SpaceReclaimed ?? 0),
  };
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export function formatPruneReport(report: PruneReport, olderThan: string): string {
  const lines = [
    `removed ${plural(report.containers.length, 'exited factory container')}, ${plural(report.images.length, 'dangling factory image layer')} and ${plural(report.cacheEntries, 'build cache entry', 'build cache entries')} older than ${olderThan}; freed ${formatBytes(report.bytes)}`,
    ...report.containers.map((id) => `  container ${id.slice(0, 12)}`),
    ...report.images.map((id) => `  image ${id.replace(/^sha256:/, '').slice(0, 12)}`),
  ];
  return lines.join('\n');
}

type PruneOptions = { olderThan: string; instance?: string; json?: boolean };

export function pruneProgram(io: Io, docker: Docker = new Docker()) {
  const cmd = newCommand('prune', io)
    .summary('remove exited factory containers, dangling factory images and build cache')
    .description('Removes exited factory containers, dangling images built from the factory\'s Dockerfiles and build cache, each older than AGE.')
    .option('--older-than <age>', 'only what is older than this (e.g. 90m, 6h, 7d)', '24h')
    .option('--instance <id>', 'only containers of this controller instance')
    .addOption(jsonOption());
  return act(cmd, (opts: PruneOptions) => runPrune(opts, io, docker));
}

export function pruneCommand(argv: string[], io: Io, docker: Docker = new Docker()): Promise<number> {
  return runCommand(pruneProgram(io, docker), argv, io);
}

async function runPrune(values: PruneOptions, io: Io, docker: Docker): Promise<number> {
  const age = values.olderThan;
  const ms = parseDuration(age);
  if (ms === undefined) {
    io.stderr(`factory prune: --older-than expects an age such as "90m", "6h" or "7d", got ${JSON.stringify(age)}`);
    return EXIT.usage;
  }
  try {
    const report = await prune(docker, ms, values.instance);
    io.stdout(values.json ? JSON.stringify(report, null, 2) : formatPruneReport(report, age));
    return EXIT.ok;
  } catch (err) {
    io.stderr(`factory prune: Docker engine error: ${(err as Error).message}`);
    return EXIT.failed;
  }
}
