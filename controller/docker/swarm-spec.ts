// The Swarm form of a job container, decided in pure functions: the container spec the launcher builds becomes a
// one-shot service and a secret, and a service's tasks (with the nodes they sit on) become the state the controller
// reads from listManaged and the exits it is told about.
import type Docker from 'dockerode';

/** Where each task finds its environment; the entry command sources it before the runner's own command. */
export const ENV_SECRET_TARGET = 'factory-env';
/** The official runner image's command; a spec without Cmd runs it, as with the local engine. */
export const RUNNER_COMMAND = ['/home/runner/run.sh'];
/**
 * Sources the job's environment from the secret and hands over to the runner, so no variable (the JIT config, the
 * values of env files) sits in the service spec, which every manager stores and `docker service inspect` shows.
 */
export const ENTRY = ['/bin/sh', '-c', `. /run/secrets/${ENV_SECRET_TARGET} && exec "$@"`, 'factory-entry'];

/** Service names are DNS labels of at most 63 characters (runner names may carry dots and reach 64). */
export function serviceName(runnerName: string): string {
  const s = runnerName.replace(/[^A-Za-z0-9_-]/g, '-');
  // Room for the secret's `-env`; the random tail is kept, since it is what makes the name unique.
  return s.length <= 59 ? s : `${s.slice(0, 29)}-${s.slice(s.length - 29)}`;
}

export const secretName = (service: string) => `${service}-env`;

/** `export K='v'` lines: single quotes keep every byte of a value literal, newlines included. */
export function envScript(env: string[]): string {
  return env
    .map((e) => {
      const eq = e.indexOf('=');
      const value = e.slice(eq + 1).replace(/'/g, `'\\''`);
      return `export ${e.slice(0, eq)}='${value}'\n`;
    })
    .join('');
}

/** The secret file's owner: the container user, so a lane's agent user (another uid) cannot read the job's env. */
function secretOwner(user: string | undefined): { UID: string; GID: string } {
  const [uid, gid] = (user ?? '1000:1000').split(':');
  return { UID: uid!, GID: gid ?? uid! };
}

export interface SwarmOptions {
  /** Placement constraints, e.g. `node.labels.factory.lane == true`; from the profile's `placement`. */
  placement: string[];
  /** The engine accepts Privileges.NoNewPrivileges (API 1.44 and later). */
  noNewPrivileges: boolean;
}

/**
 * The service that runs one job once: replicated-job, one task, never restarted, never rescheduled elsewhere. It
 * carries the container's whole hardening (capabilities, no-new-privileges, ulimits, groups, the log cap): a task
 * is a container the node's engine creates from this spec, and what the spec leaves out, Docker's defaults fill in.
 */
export function serviceSpec(
  spec: Docker.ContainerCreateOptions,
  secret: { id: string; name: string },
  opts: SwarmOptions,
) {
  const host = spec.HostConfig ?? {};
  const wantsNoNewPrivileges = (host.SecurityOpt ?? []).includes('no-new-privileges');
  const name = serviceName(spec.name ?? 'factory-job');
  const network = host.NetworkMode;
  const mounts = [
    ...((host.Mounts ?? []) as unknown as Array<Record<string, unknown>>),
    ...Object.entries(host.Tmpfs ?? {}).map(([target, options]) => ({
      Type: 'tmpfs',
      Target: target,
      TmpfsOptions: { SizeBytes: tmpfsSize(options) },
    })),
  ];
  return {
    Name: name,
    Labels: spec.Labels ?? {},
    Mode: { ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } },
    TaskTemplate: {
      ContainerSpec: {
        Image: spec.Image,
        Labels: spec.Labels ?? {},
        Command: ENTRY,
        Args: spec.Cmd === undefined ? RUNNER_COMMAND : Array.isArray(spec.Cmd) ? spec.Cmd : [spec.Cmd],
        ...(spec.User ? { User: spec.User } : {}),
        Init: host.Init ?? true,
        ReadOnly: host.ReadonlyRootfs ?? false,
        Mounts: mounts,
        Secrets: [
          {
            SecretID: secret.id,
            SecretName: secret.name,
            File: { Name: ENV_SECRET_TARGET, ...secretOwner(spec.User), Mode: 0o400 },
          },
        ],
        // An engine below API 1.44 has no such field for services: the task then runs without it (docs/swarm.md).
        ...(wantsNoNewPrivileges && opts.noNewPrivileges ? { Privileges: { NoNewPrivileges: true } } : {}),
        CapabilityDrop: host.CapDrop ?? ['ALL'],
        CapabilityAdd: host.CapAdd ?? [],
        ...(host.GroupAdd?.length ? { Groups: host.GroupAdd } : {}),
        Ulimits: host.Ulimits ?? [],
      },
      ...(host.LogConfig?.Type
        ? { LogDriver: { Name: host.LogConfig.Type, Options: host.LogConfig.Config ?? {} } }
        : {}),
      Resources: {
        Limits: {
          ...(host.NanoCpus ? { NanoCPUs: host.NanoCpus } : {}),
          ...(host.Memory ? { MemoryBytes: host.Memory } : {}),
          ...(host.PidsLimit ? { Pids: host.PidsLimit } : {}),
        },
      },
      RestartPolicy: { Condition: 'none', MaxAttempts: 0 },
      Placement: { Constraints: opts.placement },
      // `bridge` is the local engine's default network and cannot be attached to a service: leave it out.
      ...(network && network !== 'bridge' && network !== 'default' ? { Networks: [{ Target: network }] } : {}),
    },
  };
}

function tmpfsSize(options: string): number | undefined {
  const m = /size=(\d+)([kmg]?)/.exec(options);
  if (!m) return undefined;
  return Number(m[1]) * ({ '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 } as Record<string, number>)[m[2]!]!;
}

/** The parts of a task and a node that say where a job stands; the shapes of Docker's task and node lists. */
export interface TaskInfo {
  ServiceID: string;
  NodeID?: string;
  CreatedAt?: string;
  DesiredState?: string;
  Status: {
    State: string;
    Err?: string;
    Message?: string;
    ContainerStatus?: { ExitCode?: number; ContainerID?: string };
  };
}
export interface NodeInfo {
  ID: string;
  Description?: { Hostname?: string };
  Status?: { State?: string };
}

export type JobState =
  | { kind: 'pending'; waiting?: string }
  | { kind: 'running' }
  | { kind: 'exited'; reason: string }
  /** It never started: no node fits, the image is missing on the node, the container could not be created. */
  | { kind: 'rejected'; reason: string };

const NEVER_STARTED = new Set(['rejected']);
const ENDED = new Set(['complete', 'failed', 'shutdown', 'orphaned', 'remove']);

/** Where a job's service stands, from its newest task and the node that task was given. */
export function jobState(tasks: TaskInfo[], nodes: Map<string, NodeInfo>): JobState {
  const task = [...tasks].sort((a, b) => String(b.CreatedAt).localeCompare(String(a.CreatedAt)))[0];
  if (!task) return { kind: 'pending' };
  const { State: state, Err: err } = task.Status;
  if (NEVER_STARTED.has(state)) return { kind: 'rejected', reason: err || task.Status.Message || 'task rejected' };
  // A container that could not be created or started fails before it ever ran the runner.
  if (state === 'failed' && err && /^(starting container failed|invalid mount config|No such image)/i.test(err))
    return { kind: 'rejected', reason: err };
  const node = task.NodeID ? nodes.get(task.NodeID) : undefined;
  if (node?.Status?.State === 'down' && !ENDED.has(state)) {
    return { kind: 'exited', reason: `node ${node.Description?.Hostname ?? node.ID} went down while the job ran` };
  }
  if (ENDED.has(state)) {
    const code = task.Status.ContainerStatus?.ExitCode;
    return {
      kind: 'exited',
      reason: `task ${state}${code !== undefined ? ` (exit ${code})` : ''}${err ? `: ${err}` : ''}`,
    };
  }
  if (state === 'running') return { kind: 'running' };
  // `pending` with an error is the scheduler saying no node fits; Swarm would wait for one forever.
  if (state === 'pending' && err) return { kind: 'rejected', reason: err };
  return { kind: 'pending', waiting: task.Status.Message };
}
