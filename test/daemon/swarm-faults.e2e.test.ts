// Swarm's own faults end to end: a task that no node will run fails its job with the scheduler's reason and leaves
// nothing behind (no service, no secret, no runner).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LABEL } from '../../controller/model/runner.js';
import { CI_LABELS, docker, startHarness, waitFor, type Harness } from '../support/harness.js';
import { releaseSwarm, useSwarm } from '../support/swarm.js';

let h: Harness | undefined;
beforeAll(useSwarm);
afterAll(releaseSwarm);
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const leftovers = async (repo: string) => {
  const filters = JSON.stringify({ label: [`${LABEL.repo}=${repo}`] });
  return [...(await docker.listServices({ filters })), ...(await docker.listSecrets({ filters }))];
};

describe('swarm faults', () => {
  it.each([
    [
      'the image is missing on the node',
      { image: 'factory-test/does-not-exist:1' },
      /swarm task rejected: No such image: factory-test\/does-not-exist:1/,
    ],
    [
      'no node fits the placement',
      { placement: ['node.labels.factory.no-such-label == true'] },
      /swarm task rejected: no suitable node \(scheduling constraints not satisfied/,
    ],
  ])('fails the job when %s, with that reason, and leaves nothing behind', async (_what, profile, reason) => {
    h = await startHarness({ backend: 'swarm', profile });
    await h.github.queueJob(h.repo, CI_LABELS);

    await waitFor('the failure', () => h!.stages.some((s) => s.stage === 'failed'));
    expect(h.service.controller.snapshot().lastError).toMatch(reason);
    await waitFor('the runner to be deregistered', () => h!.github.runners.size === 0);
    expect(await leftovers(h.repo)).toEqual([]);
    expect(await h.containers()).toHaveLength(0);
  });
});
