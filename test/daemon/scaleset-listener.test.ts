// The scale-set listener against the stand-in's Actions service: what the official listener dies on (a 409 at start,
// an evicted session, an expired queue token, a scale set deleted under it, a restart) it recovers from, and every
// job still comes out as one queued, one in_progress and one completed delivery.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readCursor } from '../../controller/daemon/scaleset-cursor.js';
import { ScaleSetListener } from '../../controller/daemon/scaleset-listener.js';
import { recoveryFor } from '../../controller/daemon/scaleset-recovery.js';
import { ActionsService, ActionsServiceError } from '../../controller/github/actions-service.js';
import { GitHubStandin } from '../../controller/github/standin/github-standin.js';
import type { WorkflowJobDelivery } from '../../controller/model/workflow-job.js';
import { silentLogger } from '../../controller/observe/logger.js';
import { waitFor } from '../support/harness.js';

const REPO = 'octo/app';
const LABELS = ['self-hosted', 'small'];
let standin: GitHubStandin;
let dir: string;
let listeners: ScaleSetListener[] = [];

beforeEach(async () => {
  standin = new GitHubStandin({ scaleSets: { acquireMs: 2_000, longPollMs: 100, sessionTtlMs: 300 } });
  await standin.start();
  dir = mkdtempSync(join(tmpdir(), 'scaleset-listener-'));
});
afterEach(async () => {
  await Promise.all(listeners.map((l) => l.stop()));
  listeners = [];
  await standin.stop();
  rmSync(dir, { recursive: true, force: true });
});

function service(): ActionsService {
  return new ActionsService({
    apiUrl: standin.url,
    scope: { kind: 'repo', repo: REPO },
    registrationToken: async () => {
      const { token, expires_at } = standin.service.registrationToken({ repo: REPO });
      return { token, expiresAt: expires_at };
    },
  });
}

function listen(deliveries: WorkflowJobDelivery[], opts: { replaced?: (o: number, n: number) => void } = {}) {
  const l = new ScaleSetListener({
    service: service(),
    scaleSet: { name: 'small', labels: LABELS },
    owner: 'test',
    capacity: () => 4,
    cursorFile: join(dir, 'cursor.json'),
    deliver: (d) => deliveries.push(d),
    log: silentLogger(),
    retryMs: { first: 20, max: 100 },
    ...(opts.replaced ? { replaced: opts.replaced } : {}),
  });
  listeners.push(l);
  l.start();
  return l;
}

/** Plays the runner a controller would start: a JIT runner of the scale set that runs one job. */
async function runOne(l: ScaleSetListener, name: string): Promise<number> {
  const jit = await service().generateJitConfig(l.scaleSetId!, name, '_work');
  const post = (what: string) =>
    fetch(`${standin.url}/_standin/runners/${jit.runnerId}/${what}`, { method: 'POST' }).then((r) => r.json());
  const { job } = (await post('run')) as { job: number };
  await post('done');
  return job;
}

const actions = (ds: WorkflowJobDelivery[], id: number) => ds.filter((d) => d.job.id === id).map((d) => d.action);
const requestOf = (jobId: number) => standin.jobs.get(jobId)!.requestId!;

describe('the scale-set listener', () => {
  it('says which recovery each refusal calls for', () => {
    const e = (status: number) => new ActionsServiceError(status, 'x', '');
    expect(recoveryFor('create-session', e(409))).toBe('wait-for-session');
    expect(recoveryFor('create-session', e(404))).toBe('find-scale-set');
    expect(recoveryFor('use-session', e(401))).toBe('refresh-session');
    expect(recoveryFor('use-session', e(404))).toBe('new-session');
    expect(recoveryFor('refresh-session', e(404))).toBe('new-session');
    expect(recoveryFor('use-session', new Error('ECONNRESET'))).toBe('retry');
  });

  it('creates its scale set, acquires an offered job and hands on queued, in_progress and completed once each', async () => {
    const got: WorkflowJobDelivery[] = [];
    const l = listen(got);
    await waitFor('the session', () => l.view().session === 'live');
    const jobId = await standin.queueJob(REPO, LABELS, { announce: false });
    const request = requestOf(jobId);
    await waitFor('the acquisition', () => got.some((d) => d.job.id === request));
    expect(await runOne(l, 'r1')).toBe(jobId);
    await waitFor('the completion', () => actions(got, request).includes('completed'));

    expect(new Set(actions(got, request))).toEqual(new Set(['queued', 'in_progress', 'completed']));
    expect(got.find((d) => d.action === 'in_progress')).toMatchObject({
      repo: REPO,
      job: { id: request, runnerName: 'r1', labels: LABELS },
    });
    expect(got.find((d) => d.action === 'completed')?.job.conclusion).toBe('success');
    expect(readCursor(join(dir, 'cursor.json'))).toMatchObject({ scaleSetId: l.scaleSetId, pending: {}, running: {} });
  });

  it('resumes after a restart from the persisted message id, and offers again what it had acquired', async () => {
    const got: WorkflowJobDelivery[] = [];
    const first = listen(got);
    await waitFor('the session', () => first.view().session === 'live');
    const jobId = await standin.queueJob(REPO, LABELS, { announce: false });
    await waitFor('the acquisition', () => first.view().pending === 1);
    const cursor = first.view().lastMessageId;
    await first.stop();

    const after: WorkflowJobDelivery[] = [];
    const second = listen(after);
    // The held job is offered again at once: the books take it only when no runner of theirs has it.
    expect(after.map((d) => [d.action, d.job.id])).toEqual([['queued', requestOf(jobId)]]);
    await waitFor('the session', () => second.view().session === 'live');
    await waitFor('a poll', () => standin.service.polls.some((p) => p.lastMessageId >= cursor && p.lastMessageId > 0));
    expect(await runOne(second, 'r2')).toBe(jobId);
    await waitFor('the completion', () => actions(after, requestOf(jobId)).includes('completed'));
    expect(second.view().pending).toBe(0);
  });

  it('waits out a 409 at start, and recovers from eviction and an expired queue token without losing a job', async () => {
    const svc = service();
    const set = await svc.createScaleSet({ name: 'small', runnerGroupId: 1, labels: LABELS });
    standin.service.holdSession(set.id);
    const got: WorkflowJobDelivery[] = [];
    const l = listen(got);
    await waitFor('the 409 wait', () => l.view().session === 'waiting-for-session');
    await waitFor('the session after the old one lapsed', () => l.view().session === 'live');

    standin.service.evictSession(set.id);
    const a = await standin.queueJob(REPO, LABELS, { announce: false });
    await waitFor('a new session', () => l.view().recoveries['new-session'] === 1);
    await waitFor('job a acquired', () => got.some((d) => d.job.id === requestOf(a)));
    standin.service.expireQueueToken(set.id);
    const b = await standin.queueJob(REPO, LABELS, { announce: false });
    await waitFor('job b acquired', () => got.some((d) => d.job.id === requestOf(b)));
    expect(l.view().recoveries['refresh-session']).toBeGreaterThanOrEqual(1);

    const ran = [await runOne(l, 'ra'), await runOne(l, 'rb')];
    expect(ran).toEqual([a, b]);
    await waitFor('both completions', () => [a, b].every((j) => actions(got, requestOf(j)).includes('completed')));
  });

  it('finds its scale set again when the service deleted it, and says the old one was replaced', async () => {
    const replaced: Array<[number, number]> = [];
    const got: WorkflowJobDelivery[] = [];
    const l = listen(got, { replaced: (o, n) => replaced.push([o, n]) });
    await waitFor('the session', () => l.view().session === 'live');
    const old = l.scaleSetId!;
    standin.service.deleteScaleSet(old);
    await waitFor(
      'the new scale set',
      () => l.scaleSetId !== undefined && l.scaleSetId !== old && l.view().session === 'live',
    );
    expect(replaced).toEqual([[old, l.scaleSetId]]);

    const jobId = await standin.queueJob(REPO, LABELS, { announce: false });
    await waitFor('the acquisition', () => got.some((d) => d.job.id === requestOf(jobId)));
    expect(await runOne(l, 'r3')).toBe(jobId);
  });
});
