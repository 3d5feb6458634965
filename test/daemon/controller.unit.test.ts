// The controller and reconciler without Docker: the in-memory engine and GitHub model play the races a real daemon
// and GitHub's assignment produce, one scenario per test.
import { afterEach, describe, expect, it } from 'vitest';
import { LABELS, REPO, memoryWorld, type MemoryWorld } from '../support/memory-world.js';

let w: MemoryWorld | undefined;
afterEach(async () => {
  await w?.dispose();
  w = undefined;
});

const jits = (world: MemoryWorld) => world.github.calls.filter((c) => c === 'POST jit').length;
/** Every runner process connects; every busy runner finishes its job and its container exits. */
async function runEverything(world: MemoryWorld): Promise<void> {
  for (let round = 0; round < 20; round++) {
    for (const c of world.engine.running) world.github.connect(c.name);
    await world.settle();
    for (const c of world.engine.running) if (world.github.finish(c.name)) world.engine.exit(c.id);
    await world.settle();
    if (world.engine.running.length === 0 && world.controller.snapshot().queued.length === 0) break;
  }
}
async function expectNothingLeft(world: MemoryWorld): Promise<void> {
  await world.settle();
  expect(world.engine.containers.size).toBe(0);
  expect(world.github.runners.size).toBe(0);
  expect(world.controller.snapshot()).toMatchObject({ runners: [], queued: [] });
  expect(world.jobFolders()).toEqual([]);
}

describe('controller, in memory', () => {
  it('a runner that takes its job before docker start answers is reported in causal order', async () => {
    w = await memoryWorld();
    w.engine.onStart = (c) => w!.github.connect(c.name); // online and assigned inside `run`
    const job = w.github.queue(REPO, LABELS);
    await w.settle();

    expect(w.stages.filter((s) => s.jobId === job).map((s) => s.stage)).toEqual(['queued', 'taken', 'runner-created', 'container-started', 'in_progress']);
    await runEverything(w);
    expect(w.github.jobs.get(job)!.status).toBe('completed');
    await expectNothingLeft(w);
  });

  it('a container that exits before docker run answers is cleaned up, and its job gets a new runner', async () => {
    w = await memoryWorld();
    w.engine.faults.exitBeforeRunReturns = true; // dies before it connects
    const job = w.github.queue(REPO, LABELS);
    await w.settle();
    expect(w.engine.containers.size).toBe(0);
    expect(w.controller.snapshot().runners).toEqual([]);

    w.engine.faults.exitBeforeRunReturns = false;
    await w.reconciler.runOnce(); // GitHub still lists the job queued: it is offered again
    await runEverything(w);
    expect(w.github.jobs.get(job)!.status).toBe('completed');
    expect(jits(w)).toBe(2);
    await expectNothingLeft(w);
  });

  it('a start cut short by a Docker outage is adopted when Docker answers, not started twice', async () => {
    w = await memoryWorld();
    w.engine.faults.downMidRun = true;
    const job = w.github.queue(REPO, LABELS);
    await w.settle();
    expect(w.docker.isUp).toBe(false);
    expect(w.engine.running).toHaveLength(1); // Docker did start it

    w.engine.faults.downMidRun = false;
    await w.until('the watch to reconnect and the reconciler to adopt the container', () => w!.docker.isUp && w!.controller.snapshot().runners.length === 1);
    expect(w.controller.snapshot().runners).toHaveLength(1);
    await runEverything(w);
    expect(w.github.jobs.get(job)!.status).toBe('completed');
    expect(jits(w)).toBe(1);
    await expectNothingLeft(w);
  });

  it('the reconciler neither cleans a container still in `created` nor deletes the runner of a launch in flight', async () => {
    w = await memoryWorld();
    let release!: () => void;
    w.engine.faults.holdStart = new Promise<void>((r) => (release = r));
    w.github.queue(REPO, LABELS);
    await w.settle();
    expect([...w.engine.containers.values()].map((c) => c.state)).toEqual(['created']);

    await w.reconciler.runOnce();
    expect(w.github.runners.size).toBe(1); // offline, no running container: but its launch is in flight
    expect(w.controller.snapshot().runners).toHaveLength(1);

    release();
    await w.settle();
    expect(w.engine.running).toHaveLength(1);
    await runEverything(w);
    await expectNothingLeft(w);
  });

  it('exits whose events were lost are found by the reconciler once Docker shows them exited', async () => {
    w = await memoryWorld();
    w.engine.faults.exitEventsLost = true;
    const job = w.github.queue(REPO, LABELS);
    await w.settle();
    await runEverything(w);
    expect(w.github.jobs.get(job)!.status).toBe('completed');
    expect(w.engine.containers.size).toBe(1);

    await w.reconciler.runOnce();
    await expectNothingLeft(w);
  });

  it('attributes in_progress and completed to the runner named in the payload, not to the runner made for the job', async () => {
    w = await memoryWorld({ cap: 2 });
    const older = w.github.queue(REPO, LABELS);
    const newer = w.github.queue(REPO, LABELS);
    await w.settle();
    const [forOlder, forNewer] = w.controller.snapshot().runners.sort((a, b) => a.identity.jobId - b.identity.jobId);
    // The runner made for the newer job connects first and takes the OLDER job, as GitHub assigns.
    w.github.connect(forNewer!.identity.runnerName);
    await w.settle();
    expect(w.github.jobs.get(older)!.runnerName).toBe(forNewer!.identity.runnerName);
    const c = [...w.engine.containers.values()].find((x) => x.name === forNewer!.identity.runnerName)!;
    w.github.finish(forNewer!.identity.runnerName); // completed for `older`, on the runner made for `newer`
    await w.settle();
    // The runner made for `older` is neither cleaned up nor deleted: it now stands for `newer`.
    expect(w.controller.snapshot().runners.find((r) => r.identity.runnerName === forOlder!.identity.runnerName)).toMatchObject({ claim: newer });
    w.engine.exit(c.id);
    await runEverything(w);
    expect(w.github.jobs.get(newer)!.runnerName).toBe(forOlder!.identity.runnerName);
    expect(jits(w)).toBe(2);
    await expectNothingLeft(w);
  });

  it('a job cancelled while queued removes the idle runner that stood for it, and no other', async () => {
    w = await memoryWorld({ cap: 2 });
    const keep = w.github.queue(REPO, LABELS);
    const cancel = w.github.queue(REPO, ['self-hosted', 'factory', 'ci', 'not-yet']); // no runner covers it yet
    await w.settle();
    w.github.jobs.get(cancel)!.labels = ['no-runner-takes-this'];
    w.github.cancel(cancel);
    await w.settle();
    expect(w.controller.snapshot().runners.map((r) => r.claim)).toEqual([keep]);
    await runEverything(w);
    expect(w.github.jobs.get(keep)!.status).toBe('completed');
    await expectNothingLeft(w);
  });

  it('a replayed queued delivery for a job that finished before a restart starts nothing', async () => {
    w = await memoryWorld({ finishedJobs: [4242] });
    expect(w.controller.offerQueuedJob(REPO, 4242, LABELS, 0, 'webhook')).toBe(false);
    await w.settle();
    expect(jits(w)).toBe(0);
  });

  it('a late queued delivery for a job already running starts nothing', async () => {
    w = await memoryWorld();
    w.github.mode = () => 'late';
    const job = w.github.queue(REPO, LABELS);
    w.github.mode = () => 'now';
    await w.reconciler.runOnce(); // the poll finds it
    await runEverything(w);
    w.github.flushLate(); // the queued delivery arrives after the job completed
    await w.settle();
    expect(w.github.jobs.get(job)!.status).toBe('completed');
    expect(jits(w)).toBe(1);
    await expectNothingLeft(w);
  });

  it('takes the Docker state from the watch: jobs wait while it is down and start when it answers', async () => {
    w = await memoryWorld();
    w.engine.goDown();
    await w.settle();
    expect(w.controller.snapshot().dockerUp).toBe(false);
    const job = w.github.queue(REPO, LABELS);
    await w.settle();
    expect(jits(w)).toBe(0);
    expect(w.controller.snapshot().queued.map((q) => q.jobId)).toEqual([job]);

    w.engine.up();
    await w.until('Docker to be seen up again', () => w!.controller.snapshot().dockerUp);
    await runEverything(w);
    expect(w.github.jobs.get(job)!.status).toBe('completed');
    await expectNothingLeft(w);
  });
});
