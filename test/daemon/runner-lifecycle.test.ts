// The runner lifecycle's transition function on its own: it never changes the book it is given, and a transition the
// runner's phase does not allow fails loudly instead of bending the book.
import { describe, expect, it } from 'vitest';
import { IllegalTransition, step, type RunnerEvent } from '../../controller/daemon/runner-lifecycle.js';
import type { Book, Work } from '../../controller/daemon/runner-phase.js';
import { WARM_JOB_ID, type RunnerIdentity } from '../../controller/model/runner.js';

const identity = (name: string, jobId: number): RunnerIdentity => ({
  instance: 'mem',
  repo: 'org/app',
  profileName: 'ci',
  jobId,
  runnerId: 1,
  runnerName: name,
});
const begun = (name: string, jobId = 7): RunnerEvent => ({
  kind: 'launch-begun',
  identity: identity(name, jobId),
  slot: { key: name, limits: [] },
  at: 1,
});
const answered = (name: string): RunnerEvent => ({
  kind: 'launch-answered',
  name,
  outcome: { kind: 'container', containerId: `c-${name}`, at: 2, exitedEarly: false },
});

function run(events: RunnerEvent[], book: Book = new Map()): Book {
  for (const e of events) book = step(book, e).book;
  return book;
}

describe('runner lifecycle', () => {
  it('never changes the book it is given', () => {
    const before = run([begun('r1'), answered('r1')]);
    const copy = structuredClone(before);
    const runner = before.get('r1');
    const { book, effects } = step(before, { kind: 'cleanup-asked', name: 'r1', reason: 'container exited' });
    expect(before).toEqual(copy);
    expect(before.get('r1')).toBe(runner);
    expect(book.get('r1')!.phase.name).toBe('finishing');
    expect(effects).toEqual([{ kind: 'tear-down', name: 'r1', reason: 'container exited', deleteRunner: true }]);
  });

  it('a runner that ends without running a job gives its claim back and frees its slot', () => {
    const book = run([begun('r1'), answered('r1'), { kind: 'cleanup-asked', name: 'r1', reason: 'exited' }]);
    const { book: after, effects } = step(book, {
      kind: 'cleanup-ended',
      name: 'r1',
      outcome: { kind: 'done' },
      at: 3,
    });
    expect(after.size).toBe(0);
    expect(effects.map((e) => e.kind)).toEqual([
      'forget-assignment',
      'release-slot',
      'log',
      'give-back',
      'stage',
      'log',
      'pump',
    ]);
    expect(effects).toContainEqual({ kind: 'give-back', jobId: 7 });
  });

  it('a cleanup Docker failed puts the runner back where it was, for the reconciler to retry', () => {
    const book = run([begun('r1'), answered('r1'), { kind: 'cleanup-asked', name: 'r1', reason: 'exited' }]);
    const after = run([{ kind: 'cleanup-ended', name: 'r1', outcome: { kind: 'failed' }, at: 3 }], book);
    expect(after.get('r1')!.phase).toEqual({ name: 'up', containerId: 'c-r1' });
  });

  it('leaves a runner still starting alone when its cleanup is asked for, and stops it once refused and answered', () => {
    const starting = run([begun('r1')]);
    expect(step(starting, { kind: 'cleanup-asked', name: 'r1', reason: 'exited' })).toEqual({
      book: starting,
      effects: [],
    });
    const refused = run([{ kind: 'refused', name: 'r1', reason: 'refused job 9' }], starting);
    const { effects } = step(refused, answered('r1'));
    expect(effects).toContainEqual({ kind: 'tear-down', name: 'r1', reason: 'refused job 9', deleteRunner: true });
  });

  it('fails loudly on a transition the phase does not allow', () => {
    const up = run([begun('r1'), answered('r1')]);
    expect(() => step(up, answered('r1'))).toThrow(IllegalTransition); // `docker run` answers once
    expect(() => step(up, begun('r1'))).toThrow(/launch-begun for a runner in phase up/);
    expect(() => step(up, { kind: 'cleanup-ended', name: 'r1', outcome: { kind: 'done' }, at: 3 })).toThrow(
      /cleanup-ended for a runner in phase up/,
    );
    expect(() => step(new Map(), answered('r9'))).toThrow(/launch-answered for no runner/);
    // Only an idle warm runner with its container may be retired: not a cold one, not one running a job.
    expect(() => step(up, { kind: 'retire-begun', name: 'r1', why: 'shrink' })).toThrow(IllegalTransition);
    const warm = run([begun('w1', WARM_JOB_ID), answered('w1')]);
    expect(step(warm, { kind: 'retire-begun', name: 'w1', why: 'shrink' }).book.get('w1')!.phase.name).toBe('retiring');
    const busy = run([{ kind: 'job-started', runner: 'w1', jobId: 5, repo: 'org/app', at: 3, queued: false }], warm);
    expect(() => step(busy, { kind: 'retire-begun', name: 'w1', why: 'shrink' })).toThrow(IllegalTransition);
  });

  it('cannot express a runner that runs a job and still stands for another', () => {
    // @ts-expect-error a running runner holds no claim: its claim moved on when it took its job
    const work: Work = { kind: 'running', jobId: 5, completed: false, claim: 6 };
    expect(work.kind).toBe('running');
  });
});
