// The status page in a real browser (Debian's chromium, driven by playwright-core): it loads from the status port,
// shows a job the test ran with its workflow, link, result and timeline bars, updates by itself, and shows names a
// repo chose as text, never as markup.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CI_LABELS, startHarness, waitFor, type Harness } from '../support/harness.js';
import { webhookExample } from '../support/webhook-examples.js';

const CHROMIUM = '/usr/bin/chromium';
let h: Harness;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: scripts/setup-tests (npm test runs it) installs Debian's chromium`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  h = await startHarness({ jobSeconds: 1 });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await h?.stop();
});

const done = (jobId: number) => () =>
  h.github.jobs.get(jobId)?.status === 'completed' && h.service.controller.snapshot().runners.length === 0;

describe('the status page', () => {
  it('shows a finished job with its workflow, link, result and timeline, then a new job without a reload', async () => {
    const first = await h.github.queueJob(h.repo, CI_LABELS);
    await waitFor('the first job to finish', done(first));
    // A later delivery for the same job whose names carry markup and whose link is a script: both must stay inert.
    const hostile = webhookExample('workflow_job', (p) => p.action === 'waiting');
    Object.assign(hostile.workflow_job, {
      id: first,
      workflow_name: '<img src=x onerror="document.title=\'pwned\'">',
      name: '<b>bold</b>',
      html_url: 'javascript:document.title="pwned"',
    });
    hostile.repository.full_name = h.repo;
    expect(await h.github.post(JSON.stringify(hostile), 'workflow_job', randomUUID(), 'waiting', first)).toBe(202);

    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(err.message));
    page.on('console', (m) => void (m.type() === 'error' && problems.push(m.text())));
    const response = await page.goto(`${h.service.statusUrl}/?every=1`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");

    const row = page.locator(`#recent tr[data-job="${first}"]`);
    await row.waitFor();
    await page.waitForFunction(
      (id) => document.querySelectorAll(`#recent tr[data-job="${id}"] .bar span`).length >= 4,
      first,
    );
    const cells = await row.locator('td').allTextContents();
    expect(cells[0]).toBe(String(first));
    expect(cells[1]).toBe('<img src=x onerror="document.title=\'pwned\'"> / <b>bold</b>');
    expect(cells[3]).toBe('cleaned');
    expect(cells[4]).toBe('success');
    expect(await row.locator('a').getAttribute('href')).toMatch(/^https:\/\/github\.com\//);
    expect(
      await row.locator('.bar span').evaluateAll((spans) => spans.map((s) => (s as HTMLElement).dataset.stage)),
    ).toEqual(expect.arrayContaining(['queued', 'taken', 'runner-created', 'container-started']));
    expect(await page.locator('#recent img, #recent b').count()).toBe(0);
    expect(await page.title()).toBe('factory status');
    expect(await page.locator('#github tbody').textContent()).toContain(`${h.repo}ok`);
    expect(await page.locator('#summary').textContent()).toMatch(/docker up · github ok/);

    const second = await h.github.queueJob(h.repo, CI_LABELS);
    await page.locator(`#recent tr[data-job="${second}"]`).waitFor({ timeout: 20_000 });
    await waitFor('the second job to finish', done(second));
    expect(problems).toEqual([]);
    await page.close();
  });
});
