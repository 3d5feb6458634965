// The controller and reconciler without Docker: the in-memory engine and GitHub model play the races a real daemon
// and GitHub's assignment produce, one scenario per test.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ReleaseMarker } from '../../lane-contract/release-files.js';
import { containerSpec, runnerName, withRegisteredRunner } from '../../controller/daemon/runner-spec.js';
import { LABELS, REPO, memoryWorld, type MemoryWorld } from '../support/memory-world.js';

let w: MemoryWorld | undefined;
afterEach(async () => {
  await w?.dispose();
  w = undefined;
});

const jits = (world: MemoryWorld) => world.github.calls.filter((c) => c === 'POST jit').length;
/** Every runner process connects; every busy runner finishes its job and its container exits. */
async function runEverything(world: MemoryWorld): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    for (const c of world.engine.running) world.github.connect(c.name);
    await world.settle();
    for (const c of world.engine.running) if (world.github.finish(c.name)) world.engine.exit(c.id);
    await world.settle();
    const { runners, queued } = world.controller.snapshot();
    // Done when nothing is left to run: no queue, and no runner that is launching or has a job to take.
    const busyOrLaunching = runners.some(
      (r) =>
        !r.containerId ||
        (world.engine.containers.get(r.containerId)?.state === 'running' &&
          world.github.byName(r.identity.runnerName)?.status === 'offline'),
    );
    if (
      queued.length === 0 &&
      !busyOrLaunching &&
      world.engine.running.every((c) => !world.github.byName(c.name)?.busy)
    )
      return;
    if (Date.now() > deadline) throw new Error('runEverything: the runners did not settle within 10 s');
  }
}
async function expectNothingLeft(world: MemoryWorld): Promise<void> {
  await world.until(
    'every container, runner and record to be gone',
    () =>
      world.engine.containers.size === 0 &&
      world.github.runners.size === 0 &&
      world.controller.snapshot().runners.length === 0,
  );
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
    await w.until('the container to start', () => w!.stages.some((s) => s.stage === 'container-started'));

    expect(w.stages.filter((s) => s.jobId === job).map((s) => s.stage)).toEqual([
      'queued',
      'taken',
      'runner-created',
      'container-started',
      'in_progress',
    ]);
    await runEverything(w);
    expect(w.github.jobs.get(job)!.status).toBe('completed');
    await expectNothingLeft(w);
  });

  it('a container that exits before docker run answers is cleaned up, and its job gets a new runner', async () => {
    w = await memoryWorld();
    w.engine.faults.exitBeforeRunReturns = true; // dies before it connects
    const job = w.github.queue(REPO, LABELS);
    await w.until('the dead runner to be cleaned up', () => w!.stages.some((s) => s.stage === 'cleaned'));
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
    await w.until('the outage to be reported', () => !w!.docker.isUp);
    expect(w.engine.running).toHaveLength(1); // Docker did start it

    w.engine.faults.downMidRun = false;
    await w.until(
      'the watch to reconnect and the reconciler to adopt the container',
      () => w!.docker.isUp && w!.controller.snapshot().runners.length === 1,
    );
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
    await w.until('the container to be created', () => w!.engine.containers.size === 1);
    expect([...w.engine.containers.values()].map((c) => c.state)).toEqual(['created']);

    await w.reconciler.runOnce();
    expect(w.github.runners.size).toBe(1); // offline, no running container: but its launch is in flight
    expect(w.controller.snapshot().runners).toHaveLength(1);

    release();
    await w.until('the container to run', () => w!.engine.running.length === 1);
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
    await w.until(
      'both runners to start',
      () => w!.controller.snapshot().runners.filter((r) => r.containerId).length === 2,
    );
    const [forOlder, forNewer] = w.controller.snapshot().runners.sort((a, b) => a.identity.jobId - b.identity.jobId);
    // The runner made for the newer job connects first and takes the OLDER job, as GitHub assigns.
    w.github.connect(forNewer!.identity.runnerName);
    await w.settle();
    expect(w.github.jobs.get(older)!.runnerName).toBe(forNewer!.identity.runnerName);
    const c = [...w.engine.containers.values()].find((x) => x.name === forNewer!.identity.runnerName)!;
    w.github.finish(forNewer!.identity.runnerName); // completed for `older`, on the runner made for `newer`
    await w.settle();
    expect(w.controller.snapshot().runners).toHaveLength(2);
    // The runner made for `older` is neither cleaned up nor deleted: it now stands for `newer`.
    expect(
      w.controller.snapshot().runners.find((r) => r.identity.runnerName === forOlder!.identity.runnerName),
    ).toMatchObject({ claim: newer });
    w.engine.exit(c.id);
    await runEverything(w);
    expect(w.github.jobs.get(newer)!.runnerName).toBe(forOlder!.identity.runnerName);
    expect(jits(w)).toBe(2);
    await expectNothingLeft(w);
  });

  // Swarm's listing takes three calls (services, tasks, nodes), so under load its picture is easily older than the
  // book it is checked against: a listing begun before a cleanup removed a container must not bring its runner back.
  it('a container listing older than a cleanup neither adopts the runner it removed nor hands its claim back', async () => {
    w = await memoryWorld({ cap: 2 });
    const older = w.github.queue(REPO, LABELS);
    const newer = w.github.queue(REPO, LABELS);
    await w.until(
      'both runners to start',
      () => w!.controller.snapshot().runners.filter((r) => r.containerId).length === 2,
    );
    const [forOlder, forNewer] = w.controller.snapshot().runners.sort((a, b) => a.identity.jobId - b.identity.jobId);
    // The runner made for `newer` takes `older`, so the runner made for `older` now stands for `newer`.
    w.github.connect(forNewer!.identity.runnerName);
    await w.settle();
    let answer!: () => void;
    w.engine.faults.holdList = new Promise<void>((r) => (answer = r));
    const pass = w.reconciler.runOnce(); // lists both containers, answers late
    await w.settle();
    const c = [...w.engine.containers.values()].find((x) => x.name === forNewer!.identity.runnerName)!;
    w.github.finish(forNewer!.identity.runnerName);
    w.engine.exit(c.id);
    await w.until('the finished runner to be cleaned up', () => w!.controller.snapshot().runners.length === 1);

    answer();
    await pass;
    await w.reconciler.runOnce(); // a fresh listing: the removed container is not in it
    expect(w.controller.snapshot().runners.map((r) => [r.identity.runnerName, r.claim])).toEqual([
      [forOlder!.identity.runnerName, newer],
    ]);
    expect(w.controller.snapshot().queued).toEqual([]);
    await runEverything(w);
    expect(w.github.jobs.get(newer)!.status).toBe('completed');
    expect(jits(w)).toBe(2);
    await expectNothingLeft(w);
  });

  it('a container listing older than a launch does not take the new container for one that vanished', async () => {
    w = await memoryWorld();
    let answer!: () => void;
    w.engine.faults.holdList = new Promise<void>((r) => (answer = r));
    const pass = w.reconciler.runOnce(); // lists no container, answers late
    await w.settle();
    const job = w.github.queue(REPO, LABELS);
    await w.until('the container to start', () => w!.controller.snapshot().runners[0]?.containerId !== undefined);

    answer();
    await pass;
    expect(w.engine.running).toHaveLength(1);
    expect(w.controller.snapshot().runners.map((r) => r.claim)).toEqual([job]);
    await runEverything(w);
    expect(w.github.jobs.get(job)!.status).toBe('completed');
    expect(jits(w)).toBe(1);
    await expectNothingLeft(w);
  });

  it('a container listing older than a start Docker cut short still adopts the container', async () => {
    w = await memoryWorld();
    let started!: () => void;
    w.engine.faults.holdStart = new Promise<void>((r) => (started = r));
    w.engine.faults.downMidRun = true;
    const job = w.github.queue(REPO, LABELS);
    await w.until('the container to be created', () => w!.engine.containers.size === 1);
    let answer!: () => void;
    w.engine.faults.holdList = new Promise<void>((r) => (answer = r));
    const pass = w.reconciler.runOnce(); // asked before the launch is given up, answers after
    await w.settle();
    started();
    await w.until('the cut-short launch to be given up', () => w!.controller.snapshot().runners.length === 0);
    w.engine.faults.downMidRun = false;

    answer();
    await pass;
    expect(w.controller.snapshot().runners.map((r) => r.claim)).toEqual([job]);
    await runEverything(w);
    expect(jits(w)).toBe(1);
    await expectNothingLeft(w);
  });

  it('a job cancelled while queued removes the idle runner that stood for it, and no other', async () => {
    w = await memoryWorld({ cap: 2 });
    const keep = w.github.queue(REPO, LABELS);
    const cancel = w.github.queue(REPO, LABELS);
    await w.until(
      'both runners to start',
      () => w!.controller.snapshot().runners.filter((r) => r.containerId).length === 2,
    );
    // Neither runner has connected yet, so both jobs are still queued when the user cancels one.
    w.github.cancel(cancel);
    await w.until('the spare to be removed', () => w!.controller.snapshot().runners.length === 1);
    expect(w.controller.snapshot().runners.map((r) => r.claim)).toEqual([keep]);
    await runEverything(w);
    expect(w.github.jobs.get(keep)!.status).toBe('completed');
    await expectNothingLeft(w);
  });

  it("counts a container Docker runs but the controller did not start (a previous run's) against the cap", async () => {
    w = await memoryWorld({ cap: 1 });
    w.github.mode = () => 'lost'; // delivered to the previous run, not to this one
    const earlier = w.github.queue(REPO, LABELS);
    w.github.mode = () => 'now';
    const jit = await w.github.generateJitConfig(REPO, {
      name: runnerName(REPO, earlier, 'mem', 'abcdef'),
      labels: LABELS,
    });
    const identity = {
      instance: 'mem',
      repo: REPO,
      profileName: 'ci',
      jobId: earlier,
      runnerId: jit.runnerId,
      runnerName: runnerName(REPO, earlier, 'mem', 'abcdef'),
    };
    const id = await w.engine.run(
      withRegisteredRunner(containerSpec(identity, w.config.profiles.ci!, ''), jit.runnerId, jit.encodedJitConfig),
    );
    w.github.connect(identity.runnerName); // it runs `earlier`

    await w.reconciler.runOnce();
    const waiting = w.github.queue(REPO, LABELS);
    await w.settle();
    expect(w.controller.snapshot().runners.map((r) => r.containerId)).toEqual([id]);
    expect(w.controller.snapshot().queued.map((q) => q.jobId)).toEqual([waiting]);
    expect(jits(w)).toBe(1); // only the earlier run's

    w.github.finish(identity.runnerName);
    w.engine.exit(id);
    await runEverything(w);
    expect(w.github.jobs.get(waiting)!.status).toBe('completed');
    expect(w.engine.maxRunning).toBe(1);
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
    await w.until('the outage to be seen', () => !w!.controller.snapshot().dockerUp);
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

describe('lane runners, in memory', () => {
  const LANE = ['self-hosted', 'factory', 'codex'];
  const laneWorld = () =>
    memoryWorld({
      config: {
        profiles: {
          ci: { labels: ['self-hosted', 'linux'], image: 'factory-test/runner:1', network: 'none' },
          codex: { labels: LANE, image: 'factory-test/runner:1', network: 'none', trusted: true },
        },
        repos: [{ repo: REPO, profiles: ['ci', 'codex'], maxConcurrent: 8 }],
      },
    });

  it('a lane runner that takes a plain job before docker start answers is stopped once started; the lane job runs on a new runner', async () => {
    w = await laneWorld();
    w.engine.onStart = (c) => w!.github.connect(c.name); // online and assigned inside `run`
    w.github.mode = () => 'lost'; // no `queued` for the bare job: served by neither profile (ci needs linux)
    const bare = w.github.queue(REPO, ['self-hosted']);
    w.github.mode = () => 'now';
    const lane = w.github.queue(REPO, LANE);
    await w.until('the refusal', () => w!.stages.some((s) => s.stage === 'refused'));
    w.engine.onStart = () => {};
    await runEverything(w);
    await expectNothingLeft(w);

    const refused = w.stages.find((s) => s.stage === 'refused')!;
    expect(refused.jobId).toBe(bare);
    expect(w.stages.filter((s) => s.stage === 'released').map((s) => s.jobId)).toEqual([lane]);
    expect(w.github.jobs.get(lane)).toMatchObject({ status: 'completed', runs: 1 });
    expect(jits(w)).toBe(2);
    expect(w.controller.snapshot().lastError).toMatch(/refused job \d+ of org\/app: the job asks for \[self-hosted\]/);
  });

  it("refuses a lane job of a run Dependabot started, and releases a person's lane job beside it", async () => {
    w = await laneWorld();
    const update = w.github.queue(REPO, LANE, { event: 'pull_request', actor: 'dependabot[bot]' });
    const person = w.github.queue(REPO, LANE, { event: 'pull_request' });
    await runEverything(w);
    await expectNothingLeft(w);

    expect(w.stages.filter((s) => s.stage === 'refused').map((s) => s.jobId)).toEqual([update]);
    expect(w.stages.filter((s) => s.stage === 'released').map((s) => s.jobId)).toEqual([person]);
    expect(w.controller.snapshot().lastError).toMatch(
      /was started by dependabot\[bot\], which GitHub treats as untrusted/,
    );
  });

  it('with every in_progress lost, the poll finds each lane job and releases it once', async () => {
    w = await laneWorld();
    w.github.mode = () => 'now';
    const jobs = [w.github.queue(REPO, LANE), w.github.queue(REPO, LANE)];
    await w.until('both containers', () => w!.engine.running.length === 2);
    w.github.mode = () => 'lost';
    for (const c of w.engine.running) w.github.connect(c.name);
    await w.settle();
    expect(w.stages.filter((s) => s.stage === 'released')).toEqual([]);
    await w.controller.pollAssignments();
    await w.until('both releases', () => w!.stages.filter((s) => s.stage === 'released').length === 2);
    await w.controller.pollAssignments(); // nothing left to find
    w.github.mode = () => 'now';
    await runEverything(w);
    await expectNothingLeft(w);
    expect(
      w.stages
        .filter((s) => s.stage === 'released')
        .map((s) => s.jobId)
        .sort(),
    ).toEqual([...jobs].sort());
    expect(w.github.calls.filter((c) => c === 'GET run')).toHaveLength(2);
  });
});

describe('org runners, in memory', () => {
  const LANE = ['self-hosted', 'factory', 'codex'];
  const A = 'acme/api-one';
  const B = 'acme/api-two';
  /** acme/api-* is served by org runners; the lane's group admits api-one, api-two and (wrongly) api-legacy too. */
  const orgWorld = async () => {
    const world = await memoryWorld({
      config: {
        profiles: {
          ci: { labels: ['self-hosted', 'linux'], image: 'factory-test/runner:1', network: 'none' },
          codex: {
            labels: LANE,
            image: 'factory-test/runner:1',
            network: 'none',
            trusted: true,
            runnerGroup: 'lanes',
          },
        },
        repos: [{ repo: 'acme/tools', profiles: ['ci'] }],
        orgs: [
          { name: 'acme', include: ['api-*'], exclude: ['api-legacy'], profiles: ['ci', 'codex'], maxConcurrent: 4 },
        ],
      },
    });
    world.github.addOrg('acme', ['api-one', 'api-two', 'api-legacy', 'tools'], {
      lanes: ['api-one', 'api-two', 'api-legacy'],
    });
    return world;
  };
  /** The release marker a runner's job folder holds, read before the runner ends and its folder goes. */
  const marker = (world: MemoryWorld, runner: string) =>
    JSON.parse(
      readFileSync(join(world.config.stateDir, 'jobs', runner, 'release', 'released.json'), 'utf8'),
    ) as ReleaseMarker;
  const stage = (world: MemoryWorld, jobId: number, name: string) =>
    world.stages.filter((s) => s.jobId === jobId && s.stage === name);

  it("an org lane runner made for A's job that GitHub gives B's older job is released for B, and A's job gets a runner", async () => {
    w = await orgWorld();
    w.github.mode = () => 'lost'; // B's queued delivery never comes, so nothing of ours stands for it
    const b = w.github.queue(B, LANE);
    w.github.mode = () => 'now';
    const a = w.github.queue(A, LANE);
    await w.until('the runner made for A', () => w!.engine.running.length === 1);
    const madeForA = w.engine.running[0]!.name;
    w.github.connect(madeForA); // it takes the OLDEST job its labels and group cover: B's
    await w.until('the release', () => stage(w!, b, 'released').length === 1);
    expect(w.github.jobs.get(b)!.runnerName).toBe(madeForA);
    expect(marker(w, madeForA)).toMatchObject({ repo: B, jobId: b, runId: b });
    expect(w.github.calls.filter((c) => c === 'GET run')).toHaveLength(1);

    await runEverything(w);
    await expectNothingLeft(w);
    expect(w.github.jobs.get(a)).toMatchObject({ status: 'completed', runs: 1 });
    expect(w.github.jobs.get(b)).toMatchObject({ status: 'completed', runs: 1 });
    expect(stage(w, a, 'released')).toHaveLength(1);
    expect(w.stages.filter((s) => s.stage === 'refused')).toEqual([]);
    expect(jits(w)).toBe(2);
    expect(w.controller.snapshot().lastError).toBeUndefined();
  });

  it('when both jobs have runners, the one made for B takes over A, and no third runner is made', async () => {
    w = await orgWorld();
    const b = w.github.queue(B, LANE);
    const a = w.github.queue(A, LANE);
    await w.until('both runners', () => w!.engine.running.length === 2);
    const forA = w.controller.snapshot().runners.find((r) => r.identity.jobId === a)!.identity.runnerName;
    w.github.connect(forA);
    await w.until('the release of B', () => stage(w!, b, 'released').length === 1);
    expect(w.controller.snapshot().runners.find((r) => r.identity.jobId === b)).toMatchObject({ claim: a });
    await runEverything(w);
    await expectNothingLeft(w);
    expect([a, b].map((id) => w!.github.jobs.get(id)!.status)).toEqual(['completed', 'completed']);
    expect(stage(w, a, 'released')).toHaveLength(1);
    expect(jits(w)).toBe(2);
  });

  it("refuses a fork's run in B and a job of a repo the org entry excludes; A's job runs on a fresh runner each time", async () => {
    w = await orgWorld();
    w.github.mode = () => 'lost';
    const fork = w.github.queue(B, LANE, { event: 'pull_request', headRepo: 'mallory/api-two' });
    const excluded = w.github.queue('acme/api-legacy', LANE);
    w.github.mode = () => 'now';
    const a = w.github.queue(A, LANE);
    await runEverything(w);
    await expectNothingLeft(w);

    const refused = w.stages.filter((s) => s.stage === 'refused').map((s) => s.jobId);
    expect(refused.sort()).toEqual([fork, excluded].sort());
    expect(w.stages.filter((s) => s.stage === 'released').map((s) => s.jobId)).toEqual([a]);
    expect(w.github.jobs.get(a)).toMatchObject({ status: 'completed', runs: 1 });
    // Each refused job failed with its runner (GitHub fails a job whose runner goes); neither ran again.
    for (const id of [fork, excluded]) expect(w.github.jobs.get(id)).toMatchObject({ status: 'completed', runs: 1 });
    expect(jits(w)).toBe(3);
  });

  it("with the in_progress lost, the poll finds an org runner's job in the other covered repo and releases it", async () => {
    w = await orgWorld();
    w.github.mode = () => 'lost';
    const b = w.github.queue(B, LANE);
    w.github.mode = () => 'now';
    const a = w.github.queue(A, LANE);
    await w.until('the runner made for A', () => w!.engine.running.length === 1);
    w.github.mode = () => 'lost';
    w.github.connect(w.engine.running[0]!.name);
    await w.settle();
    expect(w.stages.filter((s) => s.stage === 'released')).toEqual([]);
    await w.controller.pollAssignments();
    await w.until('the release by the poll', () => stage(w!, b, 'released').length === 1);
    w.github.mode = () => 'now';
    await w.reconciler.runOnce(); // A's job, still queued at GitHub, is offered again
    await runEverything(w);
    await expectNothingLeft(w);
    expect(w.github.jobs.get(a)).toMatchObject({ status: 'completed', runs: 1 });
    expect(stage(w, a, 'released')).toHaveLength(1);
  });

  it("a repo runner of the same profile never takes over an org runner's job it cannot be given", async () => {
    w = await orgWorld();
    // Tier 1: the org's ci runners sit in the Default group, which admits acme/tools too.
    const tools = w.github.queue('acme/tools', ['self-hosted', 'linux']);
    const a = w.github.queue(A, ['self-hosted', 'linux']);
    await w.until('both runners', () => w!.engine.running.length === 2);
    const forA = w.controller.snapshot().runners.find((r) => r.identity.jobId === a)!;
    expect(forA.identity.org).toBe('acme');
    w.github.connect(forA.identity.runnerName); // takes the tools job, the oldest it covers
    await w.settle();
    expect(w.github.jobs.get(tools)!.runnerName).toBe(forA.identity.runnerName);
    // The tools repo runner cannot get A's job: it is spare, and A's job is queued for a new org runner.
    await w.until('the repo runner to be removed as spare', () =>
      w!.controller.snapshot().runners.every((r) => r.identity.jobId !== tools),
    );
    await runEverything(w);
    await expectNothingLeft(w);
    expect(w.github.jobs.get(a)).toMatchObject({ status: 'completed', runs: 1 });
    expect(jits(w)).toBe(3);
  });
});
