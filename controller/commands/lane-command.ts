// `factory lane run --profile NAME [--repo R] -- COMMAND…`: one lane outside GitHub (an agent Paperclip launches, a
// claude session on the host), in a container of that profile with all its connections: the credentials released to
// it under the same one-job-per-credential lock as workflow jobs, secrets and env files, data, rendered MCP, network,
// gh config. stdin, stdout and stderr are the command's (a tty when stdin is one); its exit code is the command's.
// Afterwards, and on Ctrl-C or SIGTERM too, refreshed credentials go back to the host and nothing is left. A brokered
// profile's run holds placeholders instead, and a broker of its own in this process (lane-run-broker.ts).
import { randomBytes } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import type Docker from 'dockerode';
import { Option } from 'commander';
import { describeProblems, loadConfig, type Config, type Profile } from '../config/config.js';
import { profileContainer } from '../docker/container-spec.js';
import { dockerEngine, type AttachedContainer } from '../docker/docker-engine.js';
import { readEnvFiles } from '../lanes/env-file.js';
import { holdCredential } from '../lanes/credential-hold.js';
import { finishJobFolder } from '../lanes/job-folder.js';
import { releasedMcpEnv, releaseJob } from '../lanes/release.js';
import { readBrokerGrant } from '../lanes/broker-placeholders.js';
import { prepareWorkspaces } from '../lanes/job-workspace.js';
import { jobDir, laneMounts, withSecretVariables } from '../lanes/lane-layout.js';
import { IN_CONTAINER, LANE_VARIABLES as V } from '../../lane-contract/lane-variables.js';
import { act, configOption, EXIT, newCommand } from './command-line.js';
import type { Io } from './io.js';
import { errorMessage } from '../util/error-message.js';
import { brokerUrl, relayedValue, withEgress } from '../egress/egress-plan.js';
import { rewriteMcpFiles } from '../lanes/job-folder.js';
import {
  callerEnv,
  envPatternErrors,
  laneRunEgress,
  laneRunGateways,
  withWorkdir,
  workdirMount,
  type LaneRunEgress,
} from './lane-run-extras.js';
import { laneRunAuth, startLaneRunBroker, type LaneRunBroker } from './lane-run-broker.js';

/** The process's own streams; tests pass pipes. */
export interface Terminal {
  stdin: Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  stdout: Writable & { columns?: number; rows?: number };
  stderr: Writable;
  /** Where SIGINT and SIGTERM arrive. */
  signals: NodeJS.EventEmitter;
}

const processTerminal = (): Terminal => ({
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  signals: process,
});

export const LANE_RUN_LABEL = 'factory.lane-run';
const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;
type Caught = keyof typeof SIGNAL_EXIT;

type RunOptions = { config: string; profile: string; repo?: string; wait: string; env: string[]; workdir?: string };

export function laneProgram(io: Io, terminal?: Terminal) {
  const run = newCommand('run', io)
    .summary("run a command in a lane container of a profile, with all the profile's connections")
    .description(
      "Starts one container of the profile with its connections (credential copies, or placeholders and a model broker with auth: broker; secrets, env files, data, MCP files, network, gh config), attaches stdin, stdout and stderr (a tty when stdin is one) and exits with the command's exit code. Refreshed credentials go back to the host, and the container, its broker and its job folder are removed, also on Ctrl-C and SIGTERM. A credential in use by a workflow job (or another lane run) is waited for up to --wait seconds, then refused.",
    )
    .addOption(configOption())
    .addOption(new Option('--profile <name>', 'the lane profile').makeOptionMandatory())
    .addOption(new Option('--repo <owner/name>', 'the repo the lane works for (its caches), one the config lists'))
    .addOption(new Option('--wait <seconds>', 'how long to wait for a credential another job holds').default('0'))
    .addOption(
      new Option(
        '--env <name>',
        "pass this variable of the caller's environment (NAME, or PREFIX* for all starting so; repeatable); the lane's own variables win",
      )
        .argParser((value: string, previous: string[] = []) => [...previous, value])
        .default([]),
    )
    .addOption(
      new Option(
        '--workdir <dir>',
        "bind this folder read-write at the same path and run the command there (a launcher's workspace)",
      ),
    )
    .argument('<command...>', 'the command and its arguments (after --)');
  const lane = newCommand('lane', io).summary('lanes outside GitHub').addCommand(run);
  // The process's streams only when a lane runs: touching process.stdin opens it, which would hold other commands up.
  act(run, (command: string[], opts: RunOptions) => laneRun(opts, command, io, terminal ?? processTerminal()));
  return lane;
}

/** Unique, a valid container name, and never a runner name of any controller instance (those start `factory`). */
export const laneRunName = (profile: string) =>
  `lane-${profile
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-')
    .slice(0, 40)}-${randomBytes(4).toString('hex')}`;

async function laneRun(opts: RunOptions, command: string[], io: Io, terminal: Terminal): Promise<number> {
  const fail = (message: string) => {
    io.stderr(`factory lane run: ${message}`);
    return EXIT.failed;
  };
  const wait = Number(opts.wait);
  if (!Number.isFinite(wait) || wait < 0) {
    io.stderr(`factory lane run: --wait must be a number of seconds, got "${opts.wait}"`);
    return EXIT.usage;
  }
  const loaded = await loadConfig(opts.config);
  if (!loaded.ok) return fail(describeProblems(opts.config, loaded));
  const { config } = loaded;
  // Bad flags are refused before anything is held, released or started.
  const workdir = opts.workdir === undefined ? undefined : workdirMount(opts.workdir, config);
  const usage = [...(workdir && 'error' in workdir ? [workdir.error] : []), ...envPatternErrors(opts.env)];
  if (usage.length > 0 || (workdir && 'error' in workdir)) {
    for (const line of usage) io.stderr(`factory lane run: ${line}`);
    return EXIT.usage;
  }
  const profile = config.profiles[opts.profile];
  if (!profile)
    return fail(
      `--profile: no profile "${opts.profile}" in ${opts.config} (defined: ${Object.keys(config.profiles).join(', ')})`,
    );
  const repo = opts.repo ?? 'local/lane-run';
  if (opts.repo) {
    const listed = config.repos.find((r) => r.repo.toLowerCase() === opts.repo!.toLowerCase());
    if (!listed) return fail(`--repo: ${opts.repo} is not in ${opts.config}`);
    if (!listed.profiles.includes(opts.profile))
      return fail(
        `--repo: ${opts.repo} does not use profile "${opts.profile}" (it uses ${listed.profiles.join(', ')})`,
      );
  }
  // The engine the socket names, also with backend swarm: a lane run is one container on this host, attached to it.
  const engine = dockerEngine(config.docker.socketPath, config.instance);
  if (!(await engine.hasImage(profile.image).catch(() => false)))
    return fail(
      `image ${profile.image} of profile "${opts.profile}" is not on this host: build it (factory images build)`,
    );

  const { brokered, fallback } = laneRunAuth(profile);
  if (fallback) io.stderr(`factory lane run: auth: broker falls back to copying the login: ${fallback}`);

  const caught = catchSignals(terminal.signals);
  const name = laneRunName(opts.profile);
  let container: AttachedContainer | undefined;
  let output: ReturnType<typeof connect> | undefined;
  let released = false;
  let egress: LaneRunEgress | undefined;
  let broker: LaneRunBroker | undefined;
  try {
    const until = Date.now() + wait * 1000;
    for (let told = false; ; told = true) {
      // A lane run that died holding the credential (SIGKILL) leaves its container and any gateway: both go.
      const hold = await holdCredential(
        config,
        { profileName: opts.profile, profile, name, kind: 'lane-run', brokered },
        async (n) => void (await Promise.all([engine.remove(n), laneRunGateways(config).remove(n)])),
      );
      if (hold.held) break;
      if (Date.now() >= until)
        return fail(
          `${hold.heldBy}: one job per credential (a token refresh in one strands every other copy); ${wait > 0 ? `waited ${wait}s` : 'pass --wait SECONDS to wait for it'}`,
        );
      if (!told) io.stderr(`factory lane run: waiting up to ${wait}s: ${hold.heldBy}`);
      await Promise.race([sleep(1000, { keepAlive: true }), caught.signalled]);
      if (caught.signal) return SIGNAL_EXIT[caught.signal];
    }
    released = true;
    // A brokered run's broker first: its gateway relays to it, and its placeholders name it where the run reaches it.
    if (brokered) broker = await startLaneRunBroker(config, profile, name);
    // The profile's egress, as a workflow job gets it: a value naming a relayed loopback service (Paperclip's
    // PAPERCLIP_API_URL, also one the caller passed) names the gateway instead, in the environment and MCP files.
    egress = await laneRunEgress(config, opts.profile, profile, name, broker?.port);
    const brokerAt = egress && broker ? brokerUrl(egress.lease) : undefined;
    await broker?.grant(brokerAt);
    // Not a GitHub job: nothing to verify, so the credentials are released at start, by the job path's own function
    // (a brokered run's: placeholders, and nothing to write back).
    await releaseJob(config, opts.profile, profile, name, { repo, jobId: 0, runId: 0 });
    await prepareWorkspaces(config, profile, repo, opts.profile, name);
    const tty = terminal.stdin.isTTY === true;
    let spec = await containerFor(config, opts.profile, profile, repo, name, command, tty);
    if (broker) spec = broker.withBroker(spec, brokerAt);
    const fromCaller = callerEnv(opts.env, process.env, new Set(spec.Env.map((e) => e.slice(0, e.indexOf('=')))));
    if (fromCaller.kept.length > 0)
      io.stderr(
        `factory lane run: --env: the lane sets ${fromCaller.kept.join(', ')} itself; the lane's values are kept`,
      );
    spec.Env.push(...Object.entries(fromCaller.pass).map(([k, v]) => `${k}=${v}`));
    if (workdir) spec = withWorkdir(spec, workdir);
    if (egress) {
      const lease = egress.lease;
      spec = { ...spec, ...withEgress(spec, lease) };
      if (profile.mcp.length > 0) await rewriteMcpFiles(config, name, (text) => relayedValue(text, lease));
    }
    // The tty's size from its creation where the engine supports it (Docker 24 and later on Linux); older engines
    // take it from the resize just after the start.
    if (tty && terminal.stdout.columns)
      Object.assign(spec.HostConfig!, { ConsoleSize: [terminal.stdout.rows ?? 24, terminal.stdout.columns] });
    if (caught.signal) return SIGNAL_EXIT[caught.signal];
    container = await engine.attach(spec);
    output = connect(container, terminal, tty);
    await container.start();
    if (tty) await followResizes(container, terminal.stdout);
    const ended = container.wait();
    const first = await Promise.race([ended, caught.signalled]);
    if (caught.signal) {
      await container.kill(caught.signal).catch(() => {});
      await Promise.race([ended, sleep(10_000)]);
      return SIGNAL_EXIT[caught.signal];
    }
    // Everything the command printed arrives before the stream ends.
    await Promise.race([output.drained, sleep(5_000)]);
    return first as number;
  } catch (err) {
    return fail(errorMessage(err));
  } finally {
    // The terminal back to cooked mode whatever happened, before anything else can fail.
    output?.detach();
    caught.release();
    if (container) await engine.remove(container.id).catch(() => {});
    if (egress) {
      const refused = await egress.refused();
      if (refused) io.stderr(`factory lane run: egress ${refused}`);
      await egress
        .remove()
        .catch((err) => io.stderr(`factory lane run: egress gateway not removed: ${errorMessage(err)}`));
    }
    await broker?.close();
    if (released) report(await finishJobFolder(config, name), io);
  }
}

async function containerFor(
  config: Config,
  profileName: string,
  profile: Profile,
  repo: string,
  name: string,
  command: string[],
  tty: boolean,
): Promise<ReturnType<typeof laneRunContainer>> {
  const lane = laneMounts(config, profileName, profile, repo, name);
  // The env-file values as the release gives them: a brokered run's MCP tokens stay on the host, its placeholder
  // stands in for them.
  const grant = profile.auth === 'broker' ? await readBrokerGrant(jobDir(config, name)) : undefined;
  return laneRunContainer(profile, {
    profileName,
    name,
    command,
    tty,
    lane,
    secrets: releasedMcpEnv(await readEnvFiles(profile.envFiles), profile, grant),
  });
}

/** The profile's container with the command in it and the terminal attached; the lane's secrets in its env. */
export function laneRunContainer(
  profile: Profile,
  run: {
    profileName: string;
    name: string;
    command: string[];
    tty: boolean;
    lane: ReturnType<typeof laneMounts>;
    secrets: Record<string, string>;
  },
) {
  const { lane, secrets } = run;
  // The CLIs find the lane's copies where they look by default, so `claude` and `codex` need no flags.
  const agentHomes: Record<string, string> = {};
  if (lane.env[V.claudeConfigDir]) agentHomes.CLAUDE_CONFIG_DIR = IN_CONTAINER.claudeConfigDir;
  if (lane.env[V.codexHome]) agentHomes.CODEX_HOME = IN_CONTAINER.codexHome;
  return {
    ...profileContainer(profile, {
      name: run.name,
      env: { ...profile.env, ...withSecretVariables(lane.env, Object.keys(secrets)), ...agentHomes, ...secrets },
      labels: { [LANE_RUN_LABEL]: 'true', 'factory.profile': run.profileName },
      mounts: lane.mounts,
    }),
    Entrypoint: [run.command[0]!],
    Cmd: run.command.slice(1),
    Tty: run.tty,
    OpenStdin: true,
    StdinOnce: true,
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
  };
}

/** The container's tty takes the terminal's size now and after each change (a tty stream's `resize`, on SIGWINCH). */
async function followResizes(container: AttachedContainer, stdout: Terminal['stdout']): Promise<void> {
  const resize = () =>
    stdout.columns ? container.resize(stdout.rows ?? 24, stdout.columns).catch(() => {}) : undefined;
  stdout.on('resize', resize);
  // Removed with the container: a resize after that has nothing to size.
  void container
    .wait()
    .finally(() => stdout.off('resize', resize))
    .catch(() => {});
  await resize();
}

/** Wires the terminal to the container: stdin in (its end closes the command's stdin), output out. */
function connect(container: AttachedContainer, terminal: Terminal, tty: boolean) {
  const { stdin } = terminal;
  const { stream } = container;
  if (tty) {
    stdin.setRawMode?.(true);
    stream.pipe(terminal.stdout, { end: false });
  } else container.demux(terminal.stdout, terminal.stderr);
  const onData = (chunk: Buffer) => stream.write(chunk);
  const onEnd = () => stream.end();
  stdin.on('data', onData);
  stdin.once('end', onEnd);
  stdin.resume();
  const drained = new Promise<void>((resolve) => {
    stream.once('end', resolve);
    stream.once('close', resolve);
  });
  return {
    drained,
    detach() {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      if (tty) stdin.setRawMode?.(false);
      stdin.pause();
      stream.destroy();
    },
  };
}

/** The first SIGINT or SIGTERM, held instead of killing the process: the cleanup still has to run. */
function catchSignals(signals: NodeJS.EventEmitter) {
  let fire: () => void = () => {};
  const state = {
    signal: undefined as Caught | undefined,
    signalled: new Promise<void>((resolve) => (fire = resolve)),
    release() {
      for (const s of Object.keys(SIGNAL_EXIT)) signals.off(s, handlers[s as Caught]);
    },
  };
  const handlers = Object.fromEntries(
    (Object.keys(SIGNAL_EXIT) as Caught[]).map((s) => [
      s,
      () => {
        state.signal ??= s;
        fire();
      },
    ]),
  ) as Record<Caught, () => void>;
  for (const s of Object.keys(SIGNAL_EXIT) as Caught[]) signals.on(s, handlers[s]);
  return state;
}

function report(results: Awaited<ReturnType<typeof finishJobFolder>>, io: Io): void {
  for (const { source, outcome, detail } of results) {
    if (outcome === 'written') io.stderr(`factory lane run: refreshed credential written back to ${source}`);
    else if (outcome === 'source-changed')
      io.stderr(`factory lane run: ${source} changed meanwhile (another job refreshed it first); its tokens are kept`);
    else if (outcome !== 'unchanged' && outcome !== 'missing')
      io.stderr(
        `factory lane run: credential write-back refused for ${source} (${outcome}${detail ? `: ${detail}` : ''}); the host file is unchanged`,
      );
  }
}

/** Only a wait that nothing else keeps the process up for holds it open; the others race work that does. */
const sleep = (ms: number, o: { keepAlive?: boolean } = {}) =>
  new Promise<void>((r) => {
    const t = setTimeout(r, ms);
    if (!o.keepAlive) t.unref();
  });
