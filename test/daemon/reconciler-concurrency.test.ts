// The reconciler asks GitHub about several config entries at once, and never more than its bound: a slow GitHub
// (answers held here until the test lets them go) must not make a start with many repos take one wait per repo.
import { afterEach, expect, it } from 'vitest';
import type { RunnerInfo } from '../../controller/github/github-client.js';
import { GITHUB_CONCURRENCY } from '../../controller/daemon/reconciler.js';
import { memoryWorld, type MemoryWorld } from '../support/memory-world.js';

let w: MemoryWorld | undefined;
afterEach(async () => {
  await w?.dispose();
  w = undefined;
});

const REPOS = Array.from({ length: 10 }, (_, i) => `org/app-${i}`);

it('a pass over ten repos asks GitHub about four at a time until every repo is asked', async () => {
  w = await memoryWorld({ config: { repos: REPOS.map((repo) => ({ repo, profiles: ['ci'] })) } });
  await w.settle(); // the pass Docker's first answer started
  const github = w.github;
  const answer = github.listRunners.bind(github);
  const held: Array<() => void> = [];
  const asked: string[] = [];
  let inFlight = 0;
  let most = 0;
  github.listRunners = async (repo: string): Promise<RunnerInfo[]> => {
    asked.push(repo);
    most = Math.max(most, ++inFlight);
    await new Promise<void>((release) => held.push(release));
    inFlight--;
    return answer(repo);
  };

  let done = false;
  const pass = w.reconciler.runOnce().then(() => void (done = true));
  // Each round lets every call that can start start, then answers all the calls held so far at once.
  while (!done) {
    await w.settle();
    for (const release of held.splice(0)) release();
  }
  await pass;

  expect([...asked].sort()).toEqual([...REPOS].sort());
  expect(most).toBe(GITHUB_CONCURRENCY);
  expect(GITHUB_CONCURRENCY).toBeGreaterThan(1);
});
