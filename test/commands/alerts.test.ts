// deploy/alerts.yml: well-formed Prometheus rules that only name metrics the controller exports.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { expect, it } from 'vitest';
import { configSchema } from '../../controller/config/config.js';
import { GitHubHealth } from '../../controller/github/github-health.js';
import { Metrics } from '../../controller/observe/metrics.js';

type Rule = {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: string };
  annotations: { summary: string; description: string };
};

const rules = (
  parse(readFileSync('deploy/alerts.yml', 'utf8')) as { groups: Array<{ name: string; rules: Rule[] }> }
).groups.flatMap((g) => g.rules);

it('covers the controller itself, disk, queue, Docker, GitHub, credential waits, refused write-backs and assignments, webhook signatures and housekeeping, each with a severity and a summary', () => {
  expect(rules.map((r) => r.alert)).toEqual([
    'FactoryControllerDown',
    'FactoryDiskNearlyFull',
    'FactoryJobsQueuedTooLong',
    'FactoryDockerDown',
    'FactoryGitHubUnhealthy',
    'FactoryCredentialWaitsLong',
    'FactoryCredentialWriteBackRefused',
    'FactoryAssignmentRefused',
    'FactoryWebhookBadSignatures',
    'FactoryHousekeepingStale',
  ]);
  for (const r of rules) {
    expect(['warning', 'critical'], r.alert).toContain(r.labels.severity);
    expect(r.annotations.summary.length, r.alert).toBeGreaterThan(10);
    if (r.for !== undefined) expect(r.for, r.alert).toMatch(/^\d+[smh]$/);
  }
});

it('alerts on the controller being down from the scrape itself, which still answers when the controller does not', () => {
  const down = rules.find((r) => r.alert === 'FactoryControllerDown')!;
  expect(down.expr).toBe('up{job="factory"} == 0');
  expect(down.labels.severity).toBe('critical');
});

it('names only metrics the controller exports', async () => {
  const config = configSchema.parse({
    github: { auth: { tokenEnv: 'T' }, webhook: { secret: { env: 'S' } } },
    profiles: { ci: { labels: ['ci'], image: 'ci' } },
    repos: [{ repo: 'o/r', profiles: ['ci'] }],
  });
  const metrics = new Metrics(config);
  metrics.watch({ snapshot: () => ({ queued: [], runners: [], dockerUp: true }) });
  metrics.watchGitHub(new GitHubHealth());
  metrics.watchHousekeeping({
    disk: async () => [],
    last: undefined,
    totals: { containers: 0, images: 0, volumes: 0 },
  });
  const exported = new Set(
    (await metrics.registry.getMetricsAsJSON()).flatMap((m) =>
      String(m.type) === 'histogram' ? [`${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`] : [m.name],
    ),
  );
  // FactoryControllerDown reads Prometheus' own `up`: the one rule that must not depend on the controller answering.
  for (const r of rules.filter((r) => r.alert !== 'FactoryControllerDown')) {
    const named = r.expr.match(/\bfactory_[a-z_]+/g) ?? [];
    expect(named.length, r.alert).toBeGreaterThan(0);
    for (const name of named) expect(exported, `${r.alert} names ${name}`).toContain(name);
  }
});
