// The bound on a lane runner that took a job and got no release: the decision alone, by the clock it is given.
import { describe, expect, it } from 'vitest';
import { HOOK_WAIT_SECONDS } from '../../controller/lanes/job-started-hook.js';
import {
  overdueUnreleased,
  UNRELEASED_LIMIT_MS,
  UnreleasedRunners,
} from '../../controller/lanes/unreleased-runners.js';

describe('unreleased lane runners', () => {
  it('the bound lies past the gate’s own wait, so the gate speaks first', () => {
    expect(UNRELEASED_LIMIT_MS).toBeGreaterThan(HOOK_WAIT_SECONDS * 1000);
  });

  it('a runner is overdue from the bound after it was first seen busy, not after a later sighting', () => {
    const runners = new UnreleasedRunners();
    runners.busy('a', 100);
    runners.busy('a', 900); // the poll sees it busy again
    runners.busy('b', 500);
    expect(runners.overdue(100 + 399, 400)).toEqual([]);
    expect(runners.overdue(100 + 400, 400)).toEqual(['a']);
    expect(runners.overdue(500 + 400, 400)).toEqual(['a', 'b']);
  });

  it('a released or gone runner is no longer bounded', () => {
    const runners = new UnreleasedRunners();
    runners.busy('released', 0);
    runners.busy('gone', 0);
    runners.settled('released');
    runners.settled('gone');
    expect(runners.overdue(UNRELEASED_LIMIT_MS * 2)).toEqual([]);
  });

  it('decides from the sightings alone', () => {
    expect(overdueUnreleased(new Map([['x', 0]]), UNRELEASED_LIMIT_MS)).toEqual(['x']);
    expect(overdueUnreleased(new Map([['x', 1]]), UNRELEASED_LIMIT_MS)).toEqual([]);
  });
});
