// The pure half of the Swarm backend: the service a job container becomes, and what a service's tasks say.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
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
      { placement: [], noNewPrivileges: false },
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
