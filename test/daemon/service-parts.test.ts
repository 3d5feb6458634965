// The pieces startService wires: the unwinding shared by a failed start and a stop, deliveries held until the first
// reconcile, and the one live config every reader takes its changes from.
import { describe, expect, it } from 'vitest';
import { configSchema, type Config } from '../../controller/config/config.js';
import { LiveConfig } from '../../controller/config/live-config.js';
import { deliveryIntake } from '../../controller/daemon/delivery-intake.js';
import { Unwind } from '../../controller/daemon/unwind.js';
import type { WorkflowJobDelivery } from '../../controller/model/workflow-job.js';
import { silentLogger } from '../../controller/observe/logger.js';

describe('unwinding what the service started', () => {
  it('undoes the last started first', async () => {
    const undone: string[] = [];
    const unwind = new Unwind();
    for (const part of ['timeline', 'status', 'webhook']) unwind.push(() => undone.push(part));

    await unwind.run();

    expect(undone).toEqual(['webhook', 'status', 'timeline']);
  });

  it('a start that fails undoes what came before it and throws its own error', async () => {
    const undone: string[] = [];
    const unwind = new Unwind();
    unwind.push(() => undone.push('timeline'));
    unwind.push(async () => {
      await Promise.resolve();
      undone.push('status');
    });

    await expect(unwind.guard(() => Promise.reject(new Error('port 8080 in use')))).rejects.toThrow('port 8080 in use');
    expect(undone).toEqual(['status', 'timeline']);
  });

  it('an undo that fails does not keep the others from running, and its error is thrown', async () => {
    const undone: string[] = [];
    const unwind = new Unwind();
    unwind.push(() => undone.push('timeline'));
    unwind.push(() => Promise.reject(new Error('close failed')));
    unwind.push(() => undone.push('timers'));

    await expect(unwind.run()).rejects.toThrow('close failed');
    expect(undone).toEqual(['timers', 'timeline']);
  });

  it('undoes each part once: a stop after a failed start has nothing left to close', async () => {
    let closed = 0;
    const unwind = new Unwind();
    unwind.push(() => closed++);

    await unwind.guard(() => Promise.reject(new Error('no'))).catch(() => {});
    await unwind.run();

    expect(closed).toBe(1);
  });
});

const config = (repos: string[], extra: Record<string, unknown> = {}): Config =>
  configSchema.parse({
    github: { auth: { tokenEnv: 'T' }, webhook: { secret: { env: 'S' } } },
    stateDir: '/var/lib/factory',
    profiles: { ci: { labels: ['self-hosted', 'ci'], image: 'ci' } },
    repos: repos.map((repo) => ({ repo, profiles: ['ci'] })),
    ...extra,
  });

const queued = (id: number, repo = 'o/r') => ({
  name: 'workflow_job',
  deliveryId: `d-${id}`,
  receivedAt: id,
  payload: {
    action: 'queued',
    repository: { full_name: repo },
    workflow_job: { id, run_id: 1, labels: ['self-hosted', 'ci'], name: `job ${id}` },
  },
});

describe('the delivery intake', () => {
  const intake = () => {
    const handled: number[] = [];
    const counted: Array<string | undefined> = [];
    const recorded: string[] = [];
    const live = new LiveConfig(config(['o/r']));
    const it = deliveryIntake({
      config: () => live.current,
      log: silentLogger(),
      metrics: { delivery: (_d, profile) => void counted.push(profile) },
      details: { record: (e) => void recorded.push(e.deliveryId) },
      handle: (d: WorkflowJobDelivery) => void handled.push(d.job.id),
    });
    return { intake: it, handled, counted, recorded, live };
  };

  it('holds deliveries until it opens, then hands them on in the order they came, and later ones at once', () => {
    const { intake: gate, handled } = intake();
    gate.onDelivery(queued(2));
    gate.onDelivery(queued(1));
    expect(handled).toEqual([]);

    gate.open();
    expect(handled).toEqual([2, 1]);

    gate.onDelivery(queued(3));
    expect(handled).toEqual([2, 1, 3]);
  });

  it('refuses a malformed workflow_job with the reason and hands nothing on, but keeps its names', () => {
    const { intake: gate, handled, recorded } = intake();
    gate.open();

    const refused = gate.onDelivery({ name: 'workflow_job', deliveryId: 'bad', receivedAt: 1, payload: { action: 1 } });

    expect(refused).toEqual(expect.any(String));
    expect(handled).toEqual([]);
    expect(recorded).toEqual(['bad']);
  });

  it('ignores other events', () => {
    const { intake: gate, handled, recorded } = intake();
    gate.open();

    expect(gate.onDelivery({ name: 'ping', deliveryId: 'p', receivedAt: 1, payload: {} })).toBeUndefined();
    expect(handled).toEqual([]);
    expect(recorded).toEqual([]);
  });

  it('counts each delivery under the profile the live config matches', () => {
    const { intake: gate, counted, live } = intake();
    gate.onDelivery(queued(1, 'o/other'));
    live.apply(config(['o/r', 'o/other']));
    gate.onDelivery(queued(2, 'o/other'));

    expect(counted).toEqual([undefined, 'ci']);
  });
});

describe('the live config', () => {
  it('tells every reader an applied change, in the order they were added', () => {
    const told: string[] = [];
    const live = new LiveConfig(config(['o/r']));
    live.read({ applyConfig: (c) => void told.push(`a:${c.repos.length}`) });
    live.read({ applyConfig: (c) => void told.push(`b:${c.repos.length}`) });

    expect(live.apply(config(['o/r', 'o/s']))).toEqual([]);
    expect(told).toEqual(['a:2', 'b:2']);
    expect(live.current.repos).toHaveLength(2);
  });

  it('applies nothing of a change that needs a restart, and names the keys', () => {
    const told: Config[] = [];
    const first = config(['o/r']);
    const live = new LiveConfig(first);
    live.read({ applyConfig: (c) => void told.push(c) });

    expect(live.apply(config(['o/r', 'o/s'], { instance: 'other' }))).toEqual(['instance']);
    expect(told).toEqual([]);
    expect(live.current).toBe(first);
  });
});
