// The Engine on Docker Swarm: each job is a one-shot service (and a secret holding its environment) placed by the
// swarm's scheduler on any node that fits. Talks to a manager's socket through dockerode. Exits are seen by polling
// the tasks: Docker's event stream has no task states (service events only say create/update/remove), and a
// container's die event is seen only on its own node, so the manager's task list is the one view of every node.
import { randomBytes } from 'node:crypto';
import Docker from 'dockerode';
import { LABEL, identityFromLabels } from '../model/runner.js';
import { demux, dockerEngine, secretValues, type Engine, type ManagedContainer } from './docker-engine.js';
import { scrubSecrets } from '../observe/secret-values.js';
import {
  envScript,
  jobState,
  secretName,
  serviceName,
  serviceSpec,
  type JobState,
  type NodeInfo,
  type TaskInfo,
} from './swarm-spec.js';

export interface SwarmEngineOptions {
  instance?: string;
  /** Placement constraints per profile name (the profile's `placement`). */
  placement?: (profileName: string) => string[];
  pollMs?: number;
  /** How long run() waits for the task to reach a node and start before it gives up on the job. */
  startTimeoutMs?: number;
}

interface ServiceInfo {
  ID: string;
  CreatedAt?: string;
  Spec?: { Name?: string; Labels?: Record<string, string> };
}

const statusOf = (err: unknown) => (err as { statusCode?: number })?.statusCode;

export class SwarmRejected extends Error {}

export function swarmEngine(socketPath: string, opts: SwarmEngineOptions = {}): Engine {
  const docker = new Docker({ socketPath });
  const instance = opts.instance ?? 'default';
  const pollMs = opts.pollMs ?? 500;
  const ours = JSON.stringify({ label: [`${LABEL.managed}=true`, `${LABEL.instance}=${instance}`] });
  // Images, networks and doctor's probe containers are the manager node's own business, as on the local engine.
  const local = dockerEngine(socketPath, instance);
  // The secret values of each service this process started: a service's environment is in a Docker secret, which
  // cannot be read back, so its log tail is scrubbed with what was put there. A service adopted after a restart has
  // none known, and keeps no log tail rather than an unscrubbed one.
  const secretsOf = new Map<string, string[]>();
  let noNewPrivileges: boolean | undefined;

  /** Every service of this instance with its state, from one list of services, tasks and nodes. */
  async function jobs(): Promise<Array<{ service: ServiceInfo; state: JobState }>> {
    const services = (await docker.listServices({ filters: ours })) as unknown as ServiceInfo[];
    if (services.length === 0) return [];
    const [tasks, nodes] = await Promise.all([
      docker.listTasks({ filters: JSON.stringify({ service: services.map((s) => s.ID) }) }) as Promise<TaskInfo[]>,
      docker.listNodes() as Promise<NodeInfo[]>,
    ]);
    const byNode = new Map(nodes.map((n) => [n.ID, n]));
    return services.map((s) => ({
      service: s,
      state: jobState(
        tasks.filter((t) => t.ServiceID === s.ID),
        byNode,
      ),
    }));
  }

  async function stateOf(serviceId: string): Promise<JobState> {
    const [tasks, nodes] = await Promise.all([
      docker.listTasks({ filters: JSON.stringify({ service: [serviceId] }) }) as Promise<TaskInfo[]>,
      docker.listNodes() as Promise<NodeInfo[]>,
    ]);
    return jobState(tasks, new Map(nodes.map((n) => [n.ID, n])));
  }

  /**
   * Removes the service, its secret, and the task containers on this node: Swarm (20.10) leaves the exited container
   * of a finished replicated-job task behind when its service goes. Other nodes' are left to `factory prune` there.
   */
  async function removeService(id: string): Promise<void> {
    let secrets: string[] = [];
    let containers: string[] = [];
    try {
      const info = (await docker.getService(id).inspect()) as {
        Spec?: { TaskTemplate?: { ContainerSpec?: { Secrets?: Array<{ SecretID: string }> } } };
      };
      secrets = (info.Spec?.TaskTemplate?.ContainerSpec?.Secrets ?? []).map((s) => s.SecretID);
      const tasks = (await docker.listTasks({ filters: JSON.stringify({ service: [id] }) })) as TaskInfo[];
      const self = await localNode();
      containers = tasks
        .filter((t) => t.NodeID === self)
        .map((t) => t.Status.ContainerStatus?.ContainerID ?? '')
        .filter(Boolean);
      await docker.getService(id).remove();
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
    for (const c of containers) await local.remove(c);
    for (const secret of secrets) await removeSecret(secret);
  }

  let nodeId: string | undefined;
  async function localNode(): Promise<string> {
    nodeId ??= ((await docker.info()) as { Swarm?: { NodeID?: string } }).Swarm?.NodeID ?? '';
    return nodeId;
  }

  async function removeSecret(id: string): Promise<void> {
    try {
      await docker.getSecret(id).remove();
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
  }

  async function supportsNoNewPrivileges(): Promise<boolean> {
    if (noNewPrivileges === undefined) {
      const v = ((await docker.version()) as { ApiVersion?: string }).ApiVersion ?? '0';
      const [major, minor] = v.split('.').map(Number);
      noNewPrivileges = major! > 1 || (major === 1 && minor! >= 44);
    }
    return noNewPrivileges;
  }

  return {
    ping: () => local.ping(),
    hasImage: (ref) => local.hasImage(ref),
    hasNetwork: (name) => local.hasNetwork(name),
    runToExit: (spec, timeoutMs) => local.runToExit(spec, timeoutMs),
    attach: (spec) => local.attach(spec),

    async run(spec) {
      const identity = identityFromLabels(spec.Labels);
      const env = spec.Env ?? [];
      // A random suffix: a relaunch under the same runner name never meets the secret of a launch that died half-way.
      const name = `${secretName(serviceName(spec.name ?? 'factory-job')).slice(0, 57)}-${randomBytes(3).toString('hex')}`;
      const secret = (await docker.createSecret({
        Name: name,
        Labels: spec.Labels ?? {},
        Data: Buffer.from(envScript(env)).toString('base64'),
      })) as { id: string };
      let serviceId: string;
      try {
        const full = serviceSpec(
          spec,
          { id: secret.id, name },
          {
            placement: identity ? (opts.placement?.(identity.profileName) ?? []) : [],
            noNewPrivileges: await supportsNoNewPrivileges(),
          },
        );
        serviceId = ((await docker.createService(full as never)) as { id?: string; ID?: string }).id ?? '';
        secretsOf.set(serviceId, secretValues(env, spec.Labels?.[LABEL.secretEnv]));
      } catch (err) {
        await removeSecret(secret.id).catch(() => {});
        throw err;
      }
      // Resolve when the task runs (as the local engine resolves once the container started), or fail the job with
      // the scheduler's reason when it never will.
      const deadline = Date.now() + (opts.startTimeoutMs ?? 120_000);
      for (;;) {
        let state: JobState;
        try {
          state = await stateOf(serviceId);
        } catch (err) {
          if (statusOf(err) === undefined) throw err; // Docker down: the reconciler settles the service
          state = { kind: 'pending' };
        }
        if (state.kind === 'running' || state.kind === 'exited') return serviceId;
        if (state.kind === 'rejected' || Date.now() > deadline) {
          await removeService(serviceId).catch(() => {});
          const reason =
            state.kind === 'rejected'
              ? state.reason
              : `no node started the task within ${opts.startTimeoutMs ?? 120_000} ms${state.waiting ? ` (${state.waiting})` : ''}`;
          throw new SwarmRejected(`swarm task rejected: ${reason}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },

    async listManaged(): Promise<ManagedContainer[]> {
      return (await jobs()).map(({ service, state }) => ({
        id: service.ID,
        name: service.Spec?.Name ?? '',
        running: state.kind === 'running',
        exited: state.kind === 'exited' || state.kind === 'rejected',
        createdAt: Date.parse(service.CreatedAt ?? '') || Date.now(),
        identity: identityFromLabels(service.Spec?.Labels),
      }));
    },

    async tailLogs(id, lines) {
      const secrets = secretsOf.get(id);
      if (!secrets) return '';
      try {
        const raw = (await docker
          .getService(id)
          .logs({ stdout: true, stderr: true, tail: lines, follow: false } as never)) as unknown as Buffer;
        return scrubSecrets(demux(raw), secrets);
      } catch (err) {
        if (statusOf(err) === 404) return '';
        throw err;
      }
    },

    remove: async (id) => {
      await removeService(id);
      secretsOf.delete(id);
    },

    async watchExits(onExit, onEnd) {
      // Each exit is told once per watch; a new watch (after an outage) tells every ended service again.
      const told = new Set<string>();
      let stopped = false;
      let timer: NodeJS.Timeout | undefined;
      const poll = async () => {
        if (stopped) return;
        try {
          const list = await jobs();
          const present = new Set(list.map((j) => j.service.ID));
          for (const id of told) if (!present.has(id)) told.delete(id);
          for (const { service, state } of list) {
            if ((state.kind === 'exited' || state.kind === 'rejected') && !told.has(service.ID)) {
              told.add(service.ID);
              onExit(service.ID, state.reason);
            }
          }
        } catch (err) {
          if (statusOf(err) === undefined) {
            stopped = true;
            onEnd(err as Error);
            return;
          }
        }
        if (!stopped) timer = setTimeout(() => void poll(), pollMs);
      };
      await docker.ping();
      void poll();
      return () => {
        stopped = true;
        clearTimeout(timer);
      };
    },
  };
}
