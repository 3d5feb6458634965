// `factory prune`: the controller's housekeeping by hand: exited factory containers, dangling images built from the
// factory's Dockerfiles and (with --workspaces) unused workspace volumes, older than an age. Nothing a running job
// or build uses, nothing the factory did not make; --dry-run lists without removing.
import type Docker from 'dockerode';
import { Option, type Command } from 'commander';
import { parseDuration } from '../config/units.js';
import { housekeep, type HousekeepingReport } from '../housekeeping/housekeeping.js';
import { act, configOption, EXIT, jsonOption, newCommand } from './command-line.js';
import { dockerClient } from './docker-client.js';
import type { Io } from './io.js';
import { errorMessage } from '../util/error-message.js';

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

export function formatPruneReport(
  report: Pick<HousekeepingReport, 'containers' | 'images' | 'volumes' | 'bytes' | 'dryRun'>,
  olderThan: string,
): string {
  const counts = `${plural(report.containers.length, 'exited factory container')}, ${plural(report.images.length, 'dangling factory image')} and ${plural(report.volumes.length, 'workspace volume')} older than ${olderThan}`;
  const lines = [
    report.dryRun
      ? `would remove ${counts}; would free ${formatBytes(report.bytes)} of images`
      : `removed ${counts}; freed ${formatBytes(report.bytes)} of images`,
    ...report.containers.map((id) => `  container ${id.slice(0, 12)}`),
    ...report.images.map((i) => `  image ${i.id.replace(/^sha256:/, '').slice(0, 12)}`),
    ...report.volumes.map((name) => `  volume ${name}`),
  ];
  return lines.join('\n');
}

type PruneOptions = {
  config: string;
  olderThan: string;
  instance?: string;
  workspaces?: boolean;
  dryRun?: boolean;
  json?: boolean;
};

/** `docker`: the engine to prune; without it, the one the config's docker.socketPath names. */
export function pruneProgram(io: Io, docker?: Docker) {
  const cmd = newCommand('prune', io)
    .summary('remove what the factory left behind: exited containers, dangling factory images, unused workspaces')
    .description(
      "Removes exited factory containers, dangling images built from the factory's Dockerfiles and, with --workspaces, workspace volumes no container uses, each older than AGE. Never anything a running job or build uses, never anything the factory did not make. The controller does the same on its housekeeping schedule.",
    )
    .option('--older-than <age>', 'only what is older than this (e.g. 90m, 6h, 7d)', '24h')
    .option('--instance <id>', 'only containers of this controller instance')
    .addOption(new Option('--workspaces', 'also remove unused workspace volumes (caches a later job would reuse)'))
    .addOption(new Option('--dry-run', 'list what would be removed, remove nothing'))
    .addOption(jsonOption())
    .addOption(configOption());
  return act(cmd, (opts: PruneOptions, self: Command) => runPrune(opts, io, self, docker));
}

async function runPrune(values: PruneOptions, io: Io, cmd: Command, given?: Docker): Promise<number> {
  const age = values.olderThan;
  const ms = parseDuration(age);
  if (ms === undefined) {
    io.stderr(`factory prune: --older-than expects an age such as "90m", "6h" or "7d", got ${JSON.stringify(age)}`);
    return EXIT.usage;
  }
  const client = given ? { ok: true as const, docker: given } : await dockerClient(cmd, values.config);
  if (!client.ok) {
    io.stderr(client.problem);
    return EXIT.failed;
  }
  const { docker } = client;
  try {
    const policy = {
      olderThanMs: ms,
      workspaces: values.workspaces === true,
      ...(values.instance === undefined ? {} : { instance: values.instance }),
    };
    const report = await housekeep(docker, policy, values.dryRun === true);
    io.stdout(values.json ? JSON.stringify(report, null, 2) : formatPruneReport(report, age));
    return EXIT.ok;
  } catch (err) {
    io.stderr(`factory prune: Docker engine error: ${errorMessage(err)}`);
    return EXIT.failed;
  }
}
