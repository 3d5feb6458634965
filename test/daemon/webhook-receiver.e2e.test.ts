// The webhook edge: only correctly signed deliveries start anything, and it answers within GitHub's 10 s window.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sign } from '@octokit/webhooks-methods';
import { webhookExample } from '../support/webhook-examples.js';
import { CI_LABELS, startHarness, type Harness } from '../support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.stop();
});

/** The real `workflow_job` `queued` delivery from @octokit/webhooks-examples, pointed at the harness repo. */
function queuedPayload(jobId: number): string {
  const payload = webhookExample('workflow_job', (x) => x.action === 'queued' && x.workflow_job.status === 'queued');
  payload.workflow_job = { ...payload.workflow_job, id: jobId, labels: CI_LABELS, runner_id: null, runner_name: null };
  payload.repository = { ...payload.repository, full_name: h.repo };
  return JSON.stringify(payload);
}

const secret = () => process.env.NEVER_SET ?? ((h.github as any).opts.webhook.secret as string);
async function post(body: string, headers: Record<string, string>) {
  const res = await fetch(`${h.service.url}/webhook`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'workflow_job',
      'x-github-delivery': crypto.randomUUID(),
      ...headers,
    },
    body,
  });
  return { status: res.status, body: await res.json() };
}
const jitCalls = () => h.github.exchanges.filter((x) => x.path.endsWith('/generate-jitconfig')).length;

describe('webhook receiver', () => {
  it('answers 400 to a signed workflow_job whose labels are null, and keeps serving', async () => {
    const payload = JSON.parse(queuedPayload(5));
    payload.workflow_job.labels = null;
    const body = JSON.stringify(payload);
    const res = await post(body, { 'x-hub-signature-256': await sign(secret(), body) });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe(
      'workflow_job payload: workflow_job.labels: Invalid input: expected array, received null',
    );

    const completed = JSON.stringify({ ...JSON.parse(queuedPayload(6)), action: 'completed' });
    expect((await post(completed, { 'x-hub-signature-256': await sign(secret(), completed) })).status).toBe(202);
    expect(jitCalls()).toBe(0);
  });

  it('answers 401 and starts nothing when the signature is missing', async () => {
    const res = await post(queuedPayload(1), {});
    expect(res.status).toBe(401);
    expect(h.service.controller.snapshot().queued.length + h.service.controller.snapshot().runners.length).toBe(0);
  });

  it('answers 401 when the body was signed with another secret', async () => {
    const body = queuedPayload(2);
    const res = await post(body, { 'x-hub-signature-256': await sign('not-the-secret', body) });
    expect(res.status).toBe(401);
  });

  it('answers 401 when a signed body was altered in transit', async () => {
    const body = queuedPayload(3);
    const signature = await sign(secret(), body);
    const res = await post(body.replace('"id":3', '"id":4'), { 'x-hub-signature-256': signature });
    expect(res.status).toBe(401);
    expect(jitCalls()).toBe(0);
  });

  it('answers 413 for a body over the cap without reading it whole', async () => {
    const res = await post('x'.repeat(2 * 1024 * 1024), { 'x-hub-signature-256': 'sha256=00' });
    expect(res.status).toBe(413);
  });

  it('answers 400 for a signed body that is not JSON', async () => {
    const body = 'payload=%7B%7D';
    const res = await post(body, { 'x-hub-signature-256': await sign(secret(), body) });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/application\/json/);
  });

  it('accepts a correctly signed real delivery with 202 and takes the job', async () => {
    const body = queuedPayload(4242);
    const started = Date.now();
    const res = await post(body, { 'x-hub-signature-256': await sign(secret(), body) });
    expect(res.status).toBe(202);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(h.stages).toContainEqual({ jobId: 4242, stage: 'taken' });
  });

  it('reports health on GET /healthz', async () => {
    const res = await fetch(`${h.service.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok', docker: 'up' });
  });
});
