// The scale-set protocol client against the stand-in's Actions service: the registration exchange, scale sets,
// sessions, the long poll with its capacity, acquisition, JIT configs from the scale set, and the stand-in's rules.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ActionsService,
  ActionsServiceError,
  configUrl,
  type MessageSession,
} from '../../controller/github/actions-service.js';
import { GitHubStandin } from '../../controller/github/standin/github-standin.js';
import { parseScaleSetMessage, type ScaleSetMessage } from '../../controller/model/scaleset-message.js';
import { assertExchangesMatchOpenApi } from '../support/harness.js';

const REPO = 'octo/app';
const LABELS = ['self-hosted', 'small'];
let standin: GitHubStandin;

beforeEach(async () => {
  standin = new GitHubStandin({ scaleSets: { acquireMs: 300, longPollMs: 200, sessionTtlMs: 400 } });
  await standin.start();
});
afterEach(async () => {
  await standin.stop();
  assertExchangesMatchOpenApi(standin);
});

function client(): ActionsService {
  return new ActionsService({
    apiUrl: standin.url,
    scope: { kind: 'repo', repo: REPO },
    registrationToken: async () => {
      const res = await fetch(`${standin.url}/repos/${REPO}/actions/runners/registration-token`, {
        method: 'POST',
        headers: { authorization: 'token ghs_test' },
      });
      const body = (await res.json()) as { token: string; expires_at: string };
      return { token: body.token, expiresAt: body.expires_at };
    },
  });
}

async function next(service: ActionsService, session: MessageSession, last: number): Promise<ScaleSetMessage> {
  for (;;) {
    const raw = await service.getMessage(session, last, 4);
    if (raw === undefined) continue;
    const m = parseScaleSetMessage(raw);
    if ('error' in m) throw new Error(m.error);
    return m;
  }
}

const runner = (id: number, what: 'run' | 'done') =>
  fetch(`${standin.url}/_standin/runners/${id}/${what}`, { method: 'POST' }).then((r) => r.json());

describe('the Actions service client', () => {
  it('names the scope by its web URL: github.com for api.github.com, the host itself on GHES', () => {
    expect(configUrl('https://api.github.com', { kind: 'repo', repo: 'o/r' })).toBe('https://github.com/o/r');
    expect(configUrl('https://ghe.example/api/v3', { kind: 'org', org: 'acme' })).toBe('https://ghe.example/acme');
  });

  it('trades a registration token for the service and runs one job through a scale set, message by message', async () => {
    const service = client();
    expect(await service.getScaleSet(1, 'small')).toBeUndefined();
    const set = await service.createScaleSet({ name: 'small', runnerGroupId: 1, labels: LABELS });
    expect((await service.getScaleSet(1, 'small'))?.id).toBe(set.id);
    expect(service.adminTokenExpiresAt).toBeGreaterThan(Date.now() + 60_000);
    const session = await service.createSession(set.id, 'test-owner');

    const jobId = await standin.queueJob(REPO, LABELS, { announce: false });
    const offered = await next(service, session, 0);
    expect(offered.jobs.map((j) => j.messageType)).toEqual(['JobAvailable']);
    const request = offered.jobs[0]!.runnerRequestId;
    expect(offered.jobs[0]).toMatchObject({ ownerName: 'octo', repositoryName: 'app', requestLabels: LABELS });
    expect(standin.service.polls.at(-1)).toMatchObject({ scaleSetId: set.id, maxCapacity: 4 });
    await service.deleteMessage(session, offered.messageId);

    expect(await service.acquireJobs(set.id, session, [request])).toEqual([request]);
    const assigned = await next(service, session, offered.messageId);
    expect(assigned.jobs.map((j) => [j.messageType, j.runnerRequestId])).toEqual([['JobAssigned', request]]);

    const jit = await service.generateJitConfig(set.id, 'runner-1', '_work');
    expect(JSON.parse(Buffer.from(jit.encodedJitConfig, 'base64').toString())).toHaveProperty('.standin');
    expect(await runner(jit.runnerId, 'run')).toMatchObject({ job: jobId });
    const started = await next(service, session, assigned.messageId);
    expect(started.jobs[0]).toMatchObject({ messageType: 'JobStarted', runnerName: 'runner-1' });
    expect(started.statistics?.totalRunningJobs).toBe(1);
    await runner(jit.runnerId, 'done');
    const completed = await next(service, session, started.messageId);
    expect(completed.jobs[0]).toMatchObject({ messageType: 'JobCompleted', result: 'succeeded' });

    await service.deleteSession(set.id, session.sessionId);
    expect(standin.serviceExchanges.every((x) => x.path === '/actions/runner-registration' || x.status < 500)).toBe(
      true,
    );
  });

  it("gives a scale set's jobs to its runners only, oldest first, and never to a plain runner", async () => {
    const service = client();
    const set = await service.createScaleSet({ name: 'small', runnerGroupId: 1, labels: LABELS });
    const session = await service.createSession(set.id, 'owner');
    const first = await standin.queueJob(REPO, LABELS, { announce: false });
    const second = await standin.queueJob(REPO, LABELS, { announce: false });
    const offered = await next(service, session, 0);
    const both = await next(service, session, offered.messageId);
    const ids = [...offered.jobs, ...both.jobs].map((j) => j.runnerRequestId);
    expect(await service.acquireJobs(set.id, session, ids)).toEqual(ids);

    const plain = await fetch(`${standin.url}/repos/${REPO}/actions/runners/generate-jitconfig`, {
      method: 'POST',
      headers: { authorization: 'token x' },
      body: JSON.stringify({ name: 'plain', runner_group_id: 1, labels: LABELS, work_folder: '_work' }),
    }).then((r) => r.json() as Promise<{ runner: { id: number } }>);
    // The plain runner's poll is held (it idles); the stand-in's stop ends it.
    void runner(plain.runner.id, 'run').catch(() => {});
    const jit = await service.generateJitConfig(set.id, 'mine', '_work');
    expect(await runner(jit.runnerId, 'run')).toMatchObject({ job: first });
    expect(standin.runners.get(plain.runner.id)!.busy).toBe(false);
    expect(standin.jobs.get(second)!.status).toBe('queued');
  });

  it('offers a job again when it was not acquired in time', async () => {
    const service = client();
    const set = await service.createScaleSet({ name: 'small', runnerGroupId: 1, labels: LABELS });
    const session = await service.createSession(set.id, 'owner');
    await standin.queueJob(REPO, LABELS, { announce: false });
    const first = await next(service, session, 0);
    const again = await next(service, session, first.messageId);
    expect(again.jobs[0]).toMatchObject({
      messageType: 'JobAvailable',
      runnerRequestId: first.jobs[0]!.runnerRequestId,
    });
  });

  it('answers 409 while another session is live, 404 once it is evicted, and 401 on an expired queue token', async () => {
    const service = client();
    const set = await service.createScaleSet({ name: 'small', runnerGroupId: 1, labels: LABELS });
    standin.service.holdSession(set.id);
    await expect(service.createSession(set.id, 'me')).rejects.toMatchObject({ status: 409 });
    await new Promise((r) => setTimeout(r, 450));
    const session = await service.createSession(set.id, 'me');

    standin.service.expireQueueToken(set.id);
    await expect(service.getMessage(session, 0, 1)).rejects.toMatchObject({ status: 401 });
    const refreshed = await service.refreshSession(set.id, session.sessionId);
    expect(await service.getMessage(refreshed, 0, 1)).toBeUndefined();

    standin.service.evictSession(set.id);
    await expect(service.getMessage(refreshed, 0, 1)).rejects.toBeInstanceOf(ActionsServiceError);
    await expect(service.refreshSession(set.id, session.sessionId)).rejects.toMatchObject({ status: 404 });
  });
});
