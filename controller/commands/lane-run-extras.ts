// What `factory lane run` adds to a profile's container for an agent a host program launches (Paperclip's adapters):
// the caller's own variables it names (`--env`), the caller's working folder (`--workdir`), and the profile's egress,
// which a lane run gets exactly as a workflow job does: its own network, the gateway its one way out.
import { statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import Docker from 'dockerode';
import type { Config, Profile } from '../config/config.js';
import { toHostPath } from '../config/host-path-map.js';
import type { ContainerSpec } from '../docker/container-spec.js';
import type { DockerMount } from '../lanes/lane-layout.js';
import { egressGateways, type EgressGateways } from '../egress/egress-gateway.js';
import { egressPlan, withBrokerRelay, type EgressLease } from '../egress/egress-plan.js';
import { blockedLine } from '../egress/egress-report.js';
import type { RunnerIdentity } from '../model/runner.js';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*\*?$/;

/** What is wrong with `--env` patterns, one line each; empty when every one is `NAME` or `PREFIX*`. */
export function envPatternErrors(patterns: readonly string[]): string[] {
  return patterns
    .filter((p) => !NAME.test(p))
    .map((p) => `--env: "${p}" is not a variable name (NAME, or PREFIX* for every variable starting so)`);
}

/**
 * The caller's variables that `patterns` name (`NAME`, or `PREFIX*` for every variable starting so), minus those the
 * lane sets itself: the profile's connections win, so a caller's CODEX_HOME (a host path) never replaces the lane's.
 * Returns what is passed and what was named but left out, for one line on stderr.
 */
export function callerEnv(
  patterns: readonly string[],
  env: NodeJS.ProcessEnv,
  laneSets: ReadonlySet<string>,
): { pass: Record<string, string>; kept: string[] } {
  const matches = (name: string) =>
    patterns.some((p) => (p.endsWith('*') ? name.startsWith(p.slice(0, -1)) : name === p));
  const pass: Record<string, string> = {};
  const kept: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || !matches(name)) continue;
    if (laneSets.has(name)) kept.push(name);
    else pass[name] = value;
  }
  return { pass, kept: kept.sort() };
}

/**
 * `--workdir DIR`: the caller's folder, read-write at the same path in the container and the command's working
 * directory, so the paths a launcher names (its workspace, files in its prompt) mean the same inside. Refused: a
 * relative or missing path, `/`, and the controller's state folder, whose job folders hold other lanes' logins.
 */
export function workdirMount(dir: string, config: Config): { mount: DockerMount; dir: string } | { error: string } {
  if (!isAbsolute(dir)) return { error: `--workdir: "${dir}" is not an absolute path` };
  const path = resolve(dir);
  let isDir = false;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    return { error: `--workdir: ${path} does not exist` };
  }
  if (!isDir) return { error: `--workdir: ${path} is not a folder` };
  const state = resolve(config.stateDir);
  if (path === '/' || path === state || path.startsWith(`${state}/`) || state.startsWith(`${path}/`))
    return {
      error: `--workdir: ${path} is / or holds or is inside the controller's stateDir ${state}; name a project folder`,
    };
  return { mount: { Type: 'bind', Source: toHostPath(path, config.hostPathMap), Target: path }, dir: path };
}

/** A lane run's egress: its own gateway, under an instance label of its own so a running controller never sweeps it. */
export interface LaneRunEgress {
  lease: EgressLease;
  /** One line naming what the gateway refused ("blocked: pastebin.com:443 ×3"), or empty. */
  refused(): Promise<string>;
  remove(): Promise<void>;
}

export const laneRunInstance = (config: Config) => `${config.instance}.lane-run`;

export function laneRunGateways(config: Config): EgressGateways {
  return egressGateways(new Docker({ socketPath: config.docker.socketPath }), {
    instance: laneRunInstance(config),
    dir: join(config.stateDir, 'egress'),
    hostPath: (path) => toHostPath(path, config.hostPathMap),
  });
}

/**
 * Starts the gateway for `name` when the profile has `egress`; undefined otherwise. Nothing is left on failure.
 * `brokerPort`: the run's own broker, which the gateway relays at its broker port, as a workflow job's does.
 */
export async function laneRunEgress(
  config: Config,
  profileName: string,
  profile: Profile,
  name: string,
  brokerPort?: number,
  gateways: EgressGateways = laneRunGateways(config),
): Promise<LaneRunEgress | undefined> {
  const identity = { runnerName: name, instance: laneRunInstance(config), profileName } as RunnerIdentity;
  const plan = egressPlan(identity, profile);
  if (!plan) return undefined;
  const lease = await gateways.create(brokerPort === undefined ? plan : withBrokerRelay(plan, brokerPort));
  return {
    lease,
    refused: async () => blockedLine(await gateways.refusals(name).catch(() => [])),
    remove: () => gateways.remove(name),
  };
}

/** The spec with the caller's folder bound and set as the working directory. */
export function withWorkdir<S extends ContainerSpec>(spec: S, workdir: { mount: DockerMount; dir: string }): S {
  return {
    ...spec,
    WorkingDir: workdir.dir,
    HostConfig: { ...spec.HostConfig, Mounts: [...(spec.HostConfig.Mounts ?? []), workdir.mount] },
  };
}
