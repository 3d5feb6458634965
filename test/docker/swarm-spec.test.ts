// The pure half of the Swarm backend: the service a job container becomes, and what a service's tasks say.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../controller/config/config.js';
import { containerSpec } from '../../controller/daemon/runner-spec.js';
import { laneMounts } from '../../controller/lanes/lane-layout.js';
import {
  ENTRY,
  envScript,
  jobState,
  serviceName,
  serviceSpec,
  type NodeInfo,
  type TaskInfo,
} from '../../controller/docker/swarm-spec.js';

const nodes = new Map<string, NodeInfo>([
  ['n1', { ID: 'n1', Description: { Hostname: 'vps-1' }, Status: { State: 'ready' } }],
  ['n2', { ID: 'n2', Description: { Hostname: 'vps-2' }, Status: { State: 'down' } }],
]);
const task = (State: string, more: Partial<TaskInfo> & { Err?: string; ExitCode?: number } = {}): TaskInfo => ({
  ServiceID: 's1',
  NodeID: more.NodeID ?? 'n1',
  CreatedAt: more.CreatedAt ?? '2026-11-28T10:00:00Z',
  Status: {
    State,
    ...(more.Err ? { Err: more.Err } : {}),
    ...(more.ExitCode !== undefined ? { ContainerStatus: { ExitCode: more.ExitCode } } : {}),
  },
});

describe('jobState', () => {
  it('reads a running task as running and a finished one as exited with its exit code', () => {
    expect(jobState([task('running')], nodes)).toEqual({ kind: 'running' });
    expect(jobState([task('complete', { ExitCode: 0 })], nodes)).toEqual({
      kind: 'exited',
      reason: 'task complete (exit 0)',
    });
  });

  it('takes a pending task with a scheduler error as rejected: Swarm would wait for a fitting node forever', () => {
    const err = 'no suitable node (scheduling constraints not satisfied on 2 nodes)';
    expect(jobState([task('pending', { Err: err })], nodes)).toEqual({ kind: 'rejected', reason: err });
    expect(jobState([task('pending')], nodes)).toEqual({ kind: 'pending', waiting: undefined });
  });

  it("takes a rejected task (image missing on the node) as rejected with the node's reason", () => {
    expect(jobState([task('rejected', { Err: 'No such image: factory/runner:9' })], nodes)).toEqual({
      kind: 'rejected',
      reason: 'No such image: factory/runner:9',
    });
  });

  it('reports a task still shown running on a node that went down as exited, naming the node', () => {
    expect(jobState([task('running', { NodeID: 'n2' })], nodes)).toEqual({
      kind: 'exited',
      reason: 'node vps-2 went down while the job ran',
    });
  });

  it('judges by the newest task', () => {
    const tasks = [
      task('running', { CreatedAt: '2026-11-28T10:00:05Z' }),
      task('rejected', { Err: 'x', CreatedAt: '2026-11-28T10:00:00Z' }),
    ];
    expect(jobState(tasks, nodes)).toEqual({ kind: 'running' });
  });
});

describe('serviceSpec', () => {
  const spec = {
    name: 'factory.prod-repo-12-abcdef',
    Image: 'runner:1',
    Env: ['ACTIONS_RUNNER_INPUT_JITCONFIG=c2VjcmV0', 'TOKEN=from-an-env-file'],
    Labels: { 'factory.managed': 'true' },
    HostConfig: {
      NanoCpus: 2e9,
      Memory: 1024,
      PidsLimit: 100,
      NetworkMode: 'factory-overlay',
      Init: true,
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': 'rw,size=1g' },
      SecurityOpt: ['no-new-privileges'],
    },
  };
  const service = serviceSpec(
    spec,
    { id: 'sec1', name: 'sec-name' },
    { placement: ['node.hostname == vps-2'], noNewPrivileges: true },
  );

  it('runs the job once, never restarts it, and keeps limits, labels, network and placement', () => {
    expect(service.Mode).toEqual({ ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } });
    expect(service.TaskTemplate.RestartPolicy).toEqual({ Condition: 'none', MaxAttempts: 0 });
    expect(service.TaskTemplate.Resources.Limits).toEqual({ NanoCPUs: 2e9, MemoryBytes: 1024, Pids: 100 });
    expect(service.TaskTemplate.Networks).toEqual([{ Target: 'factory-overlay' }]);
    expect(service.TaskTemplate.Placement.Constraints).toEqual(['node.hostname == vps-2']);
    expect(service.Labels).toEqual(spec.Labels);
    expect(service.TaskTemplate.ContainerSpec.Labels).toEqual(spec.Labels);
    expect(service.TaskTemplate.ContainerSpec.Mounts).toEqual([
      { Type: 'tmpfs', Target: '/tmp', TmpfsOptions: { SizeBytes: 1024 ** 3 } },
    ]);
    expect(service.TaskTemplate.ContainerSpec.Privileges).toEqual({ NoNewPrivileges: true });
    expect(service.Name).toBe('factory-prod-repo-12-abcdef');
  });

  it('carries no environment at all: the JIT config and env-file values reach the task only through its secret', () => {
    expect(JSON.stringify(service)).not.toContain('c2VjcmV0');
    expect(JSON.stringify(service)).not.toContain('from-an-env-file');
    expect(service.TaskTemplate.ContainerSpec.Command).toEqual(ENTRY);
    expect(service.TaskTemplate.ContainerSpec.Args).toEqual(['/home/runner/run.sh']);
  });

  it('leaves out the local bridge network, which a service cannot join', () => {
    const bridged = serviceSpec(
      { ...spec, HostConfig: { ...spec.HostConfig, NetworkMode: 'bridge' } },
      { id: 's', name: 's' },
      { placement: [], noNewPrivileges: true },
    );
    expect(bridged.TaskTemplate.Networks).toBeUndefined();
  });

  it('makes a valid service name of any runner name, keeping the random tail', () => {
    const long = `factory.instance-name-${'x'.repeat(40)}-123456-abcdef`;
    expect(serviceName(long)).toMatch(/^[A-Za-z0-9][A-Za-z0-9_-]{0,58}$/);
    expect(serviceName(long).endsWith('-123456-abcdef')).toBe(true);
  });
});

describe('envScript', () => {
  it('gives a shell back every value byte for byte: quotes, dollars, newlines', () => {
    const values = { A: "it's $HOME `id` \\n", B: 'line1\nline2', C: '' };
    const script = envScript(Object.entries(values).map(([k, v]) => `${k}=${v}`));
    const out = execFileSync('/bin/sh', ['-c', `${script}printf '%s\\0' "$A" "$B" "$C"`], {
      encoding: 'utf8',
      env: {},
    });
    expect(out.split('\0').slice(0, 3)).toEqual(Object.values(values));
  });
});

describe('a service keeps the hardening of the container it stands for', () => {
  const parsed = parseConfig(`github: { auth: { tokenEnv: T }, webhook: { secret: { env: S } } }
backend: swarm
profiles:
  ci: { labels: [self-hosted, factory, ci], image: runner:1, nofile: 4096 }
  lane:
    trusted: true
    labels: [self-hosted, factory, lane]
    image: factory/base:0.1.0
    agentUser: "1001:1001"
    placement: ["node.hostname == vps-1"]
    mounts: [{ kind: auth, agent: claude, source: /home/ali/.claude }]
repos: [{ repo: o/r, profiles: [ci, lane] }]
`);
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  const config = parsed.config;
  const identity = (profileName: string) => ({
    instance: 'default',
    repo: 'o/r',
    profileName,
    jobId: 1,
    runnerId: 2,
    runnerName: `factory-r-1-${profileName}`,
  });
  const serviceOf = (name: string, noNewPrivileges = true) => {
    const profile = config.profiles[name]!;
    const lane = laneMounts(config, name, profile, 'o/r', `factory-r-1-${name}`);
    const container = containerSpec(identity(name), profile, 'jit', lane);
    return { container, service: serviceSpec(container, { id: 's', name: 's' }, { placement: [], noNewPrivileges }) };
  };

  it('drops every capability, sets no-new-privileges, the ulimits and the 2 x 10 MiB log cap of a Tier-1 container', () => {
    const { container, service } = serviceOf('ci');
    const task = service.TaskTemplate.ContainerSpec;
    expect(task.CapabilityDrop).toEqual(['ALL']);
    expect(task.CapabilityAdd).toEqual([]);
    expect(task.Privileges).toEqual({ NoNewPrivileges: true });
    expect(task.Ulimits).toEqual(container.HostConfig.Ulimits);
    expect(task.Ulimits).toEqual(
      expect.arrayContaining([
        { Name: 'nofile', Soft: 4096, Hard: 4096 },
        { Name: 'core', Soft: 0, Hard: 0 },
      ]),
    );
    expect(service.TaskTemplate.LogDriver).toEqual({
      Name: 'json-file',
      Options: { 'max-size': '10m', 'max-file': '2' },
    });
    expect(task.User).toBe('1000:1000');
  });

  it("gives a lane with an agent user only SETUID/SETGID and the agent's group, and its env secret to the runner's user alone", () => {
    const { service } = serviceOf('lane');
    const task = service.TaskTemplate.ContainerSpec;
    expect(task.CapabilityDrop).toEqual(['ALL']);
    expect(task.CapabilityAdd).toEqual(['SETUID', 'SETGID']);
    expect(task.Groups).toEqual(['1001']);
    // The helper's file capabilities need no-new-privileges off, as on the local engine.
    expect(task.Privileges).toBeUndefined();
    // The agent (uid 1001) must not read the JIT config and env-file values: 0400, owned by the runner's user.
    expect(task.Secrets[0]!.File).toEqual({ Name: 'factory-env', UID: '1000', GID: '1000', Mode: 0o400 });
  });

  it('asks no-new-privileges only of an engine that has the field (API 1.44), as the container asks it', () => {
    expect(serviceOf('ci', false).service.TaskTemplate.ContainerSpec.Privileges).toBeUndefined();
    expect(serviceOf('ci', true).service.TaskTemplate.ContainerSpec.Privileges).toEqual({ NoNewPrivileges: true });
  });
});
