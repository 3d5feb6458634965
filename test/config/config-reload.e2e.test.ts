// An edited config applies to a running controller, except the parts only a restart can change.
import { afterEach, expect, it } from 'vitest';
import { CI_LABELS, docker, startHarness, uniqueRepo, waitFor, type Harness } from '../support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

it('takes jobs of a repo added to the config while running, those queued before the edit included', async () => {
  h = await startHarness({ jobSeconds: 1 });
  const added = uniqueRepo('reload');
  const queuedBefore = await h.github.queueJob(added, CI_LABELS);
  expect(h.stages.some((s) => s.jobId === queuedBefore)).toBe(false);

  const blocked = h.service.applyConfig({
    ...h.config,
    repos: [...h.config.repos, { repo: added, profiles: ['ci'], maxConcurrent: 1 }],
  });
  await h.service.reconciler.runOnce(); // the poll finds the job whose delivery arrived before the repo was added
  const queuedAfter = await h.github.queueJob(added, CI_LABELS);

  expect(blocked).toEqual([]);
  await waitFor(
    'both jobs of the added repo',
    () =>
      [queuedBefore, queuedAfter].every((id) => h!.github.jobs.get(id)?.status === 'completed') &&
      h!.service.controller.snapshot().runners.length === 0,
  );
  expect(
    await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`factory.repo=${added}`] }) }),
  ).toEqual([]);
});

it('refuses live changes to the GitHub connection or the instance and keeps the running config', async () => {
  h = await startHarness();
  const blocked = h.service.applyConfig({
    ...h.config,
    instance: 'other',
    github: { ...h.config.github, apiUrl: 'https://github.example.com/api/v3' },
    repos: [],
  });

  expect(blocked).toEqual(['github', 'instance']);
  const jobId = await h.github.queueJob(h.repo, CI_LABELS);
  await waitFor('the job under the old config', () =>
    h!.stages.some((s) => s.jobId === jobId && s.stage === 'container-started'),
  );
});
