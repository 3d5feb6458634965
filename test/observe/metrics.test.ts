// The Prometheus metrics, fed stage by stage as the controller reports them, and Docker failures counted at the engine.
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../controller/config/config.js';
import type { Engine } from '../../controller/docker/docker-engine.js';
import { GitHubHealth } from '../../controller/github/github-health.js';
import { Metrics, routeTemplate } from '../../controller/observe/metrics.js';
import { countingEngine } from '../../controller/docker/counting-engine.js';
import { matchProfile } from '../../controller/daemon/profile-match.js';
import { parseWorkflowJob } from '../../controller/model/workflow-job.js';
import { webhookExample } from '../support/webhook-examples.js';

const config = configSchema.parse({
  github: { auth: { tokenEnv: 'T' }, webhook: { secret: { env: 'S' } } },
  profiles: { ci: { labels: ['factory', 'ci'], image: 'ci' } },
  repos: [{ repo: 'org/app', profiles: ['ci'] }],
});

/** The value of one sample line, e.g. `factory_jobs_total{repo="org/app",profile="ci",stage="taken"}`. */
async function sample(metrics: Metrics, line: string): Promise<number | undefined> {
  const text = await metrics.text();
  const found = text.split('\n').find((l) => l.startsWith(line + ' '));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

const delivery = (jobId: number, repo: string, labels: string[], action = 'queued') => ({
  deliveryId: `d-${jobId}-${Math.random()}`,
  receivedAt: 0,
  action,
  repo,
  job: { id: jobId, labels, runnerName: null },
});
// The service matches each delivery once and hands metrics the profile that serves it.
const served = (d: ReturnType<typeof delivery>) => matchProfile(config, d.repo, d.job.labels)?.profileName;
const count = (m: Metrics, d: ReturnType<typeof delivery>) => m.delivery(d, served(d));

describe('Metrics', () => {
  it('counts each stage of a job by repo and profile and measures pickup and runner online latency', async () => {
    const m = new Metrics(config);
    const f = { repo: 'org/app', profile: 'ci', runnerName: 'factory-app-1-abc' };
    m.stage(1, 'queued', { repo: 'org/app', at: 1_000 });
    m.stage(1, 'taken', { ...f, at: 1_001 });
    m.stage(1, 'runner-created', { ...f, at: 1_100 });
    m.stage(1, 'container-started', { ...f, at: 1_400 });
    m.stage(1, 'in_progress', { ...f, at: 3_400 });
    m.stage(1, 'completed', { ...f, at: 5_000 });
    m.stage(1, 'cleaned', { ...f, at: 5_200 });

    const labels = 'repo="org/app",profile="ci"';
    for (const stage of ['taken', 'started', 'completed', 'cleaned']) {
      expect(await sample(m, `factory_jobs_total{${labels},stage="${stage}"}`)).toBe(1);
    }
    expect(await sample(m, `factory_jobs_total{${labels},stage="failed"}`)).toBeUndefined();
    expect(await sample(m, `factory_pickup_latency_seconds_sum{${labels}}`)).toBeCloseTo(0.4);
    expect(await sample(m, `factory_pickup_latency_seconds_bucket{le="0.25",${labels}}`)).toBe(0);
    expect(await sample(m, `factory_pickup_latency_seconds_bucket{le="0.5",${labels}}`)).toBe(1);
    expect(await sample(m, `factory_runner_online_latency_seconds_sum{${labels}}`)).toBeCloseTo(2);
  });

  it('pairs runner online latency with the runner, when the runner runs another job than the one it was started for', async () => {
    const m = new Metrics(config);
    m.stage(1, 'queued', { repo: 'org/app', at: 0 });
    m.stage(1, 'container-started', { repo: 'org/app', profile: 'ci', runnerName: 'r1', at: 500 });
    m.stage(2, 'in_progress', { repo: 'org/app', profile: 'ci', runnerName: 'r1', at: 1_500 });

    expect(await sample(m, 'factory_runner_online_latency_seconds_sum{repo="org/app",profile="ci"}')).toBeCloseTo(1);
  });

  it('labels every stage with the repo as configured, also those GitHub reports in its own spelling', async () => {
    const m = new Metrics(config);
    m.stage(1, 'taken', { repo: 'org/app', profile: 'ci', at: 0 });
    m.stage(1, 'completed', { repo: 'Org/App', profile: 'ci', runnerName: 'r1', at: 1_000 });

    expect(await sample(m, 'factory_jobs_total{repo="org/app",profile="ci",stage="completed"}')).toBe(1);
    expect(await m.text()).not.toContain('Org/App');
  });

  it('counts a runner that took its job before Docker answered the start call as online at once', async () => {
    const m = new Metrics(config);
    m.stage(1, 'in_progress', { repo: 'org/app', profile: 'ci', runnerName: 'r1', at: 1_000 });
    m.stage(1, 'container-started', { repo: 'org/app', profile: 'ci', runnerName: 'r1', at: 1_005 });

    expect(await sample(m, 'factory_runner_online_latency_seconds_count{repo="org/app",profile="ci"}')).toBe(1);
    expect(await sample(m, 'factory_runner_online_latency_seconds_sum{repo="org/app",profile="ci"}')).toBe(0);
  });

  it('counts queued jobs of configured repos once per job, with "none" when no profile serves them', async () => {
    const m = new Metrics(config);
    count(m, delivery(7, 'org/app', ['factory', 'ci']));
    count(m, delivery(7, 'org/app', ['factory', 'ci'])); // a repeated queued event for the same job
    count(m, delivery(8, 'org/app', ['gpu']));
    count(m, delivery(9, 'someone/else', ['factory', 'ci']));
    count(m, delivery(10, 'org/app', ['factory', 'ci'], 'completed'));

    expect(await sample(m, 'factory_jobs_seen_total{repo="org/app",profile="ci"}')).toBe(1);
    expect(await sample(m, 'factory_jobs_seen_total{repo="org/app",profile="none"}')).toBe(1);
    expect(await m.text()).not.toContain('someone/else');
  });

  it('counts credential write-backs by outcome, refusals included, and leaves out files no job had', async () => {
    const m = new Metrics(config);
    m.credentialWriteBack('ci', 'written');
    m.credentialWriteBack('ci', 'rejected-other-login');
    m.credentialWriteBack('ci', 'rejected-other-login');
    m.credentialWriteBack('ci', 'missing');
    expect(await sample(m, 'factory_credential_write_backs_total{profile="ci",outcome="written"}')).toBe(1);
    expect(await sample(m, 'factory_credential_write_backs_total{profile="ci",outcome="rejected-other-login"}')).toBe(
      2,
    );
    expect(await sample(m, 'factory_credential_write_backs_total{profile="ci",outcome="missing"}')).toBeUndefined();
  });

  it("counts the connections a job's egress gateway refused, by profile", async () => {
    const m = new Metrics(config);
    m.egressRefused('claude', 3);
    m.egressRefused('claude', 2);
    expect(await sample(m, 'factory_egress_refused_total{profile="claude"}')).toBe(5);
  });

  it('records GitHub calls by route and status, the remaining rate limit, and credential waits', async () => {
    const m = new Metrics(config);
    m.onCall('POST /repos/{owner}/{repo}/actions/runners/generate-jitconfig', 201);
    m.onCall('DELETE /repos/{owner}/{repo}/actions/runners/{runner_id}', 404);
    m.onCall('DELETE /repos/{owner}/{repo}/actions/runners/{runner_id}', 404);
    m.onRateLimitRemaining(4_321);
    m.stage(3, 'credential-wait', { repo: 'org/app', profile: 'ci', at: 1_000 });
    m.stage(3, 'runner-created', { repo: 'org/app', profile: 'ci', runnerName: 'r3', at: 4_000 });

    expect(
      await sample(
        m,
        'factory_github_api_calls_total{route="DELETE /repos/{owner}/{repo}/actions/runners/{runner_id}",status="404"}',
      ),
    ).toBe(2);
    expect(await sample(m, 'factory_github_rate_limit_remaining')).toBe(4_321);
    expect(await sample(m, 'factory_credential_waits_total{profile="ci"}')).toBe(1);
    expect(await sample(m, 'factory_credential_wait_seconds_sum{profile="ci"}')).toBeCloseTo(3);
  });

  it('shows no rate limit and no GitHub state before GitHub has answered, then the state per repo', async () => {
    const m = new Metrics(config);
    const health = new GitHubHealth();
    m.watchGitHub(health);
    expect(await m.text()).not.toMatch(/^factory_github_rate_limit_remaining /m);
    expect(await m.text()).not.toMatch(/^factory_github_state\{/m);

    health.onResult('org/app', 'unauthorised', 'GitHub 401 on GET runners for org/app: Bad credentials');
    m.onRateLimitRemaining(0);
    expect(await sample(m, 'factory_github_state{repo="org/app",state="unauthorised"}')).toBe(1);
    expect(await sample(m, 'factory_github_rate_limit_remaining')).toBe(0);
    health.onResult('org/app', 'ok');
    expect(await sample(m, 'factory_github_state{repo="org/app",state="ok"}')).toBe(1);
    expect(await sample(m, 'factory_github_state{repo="org/app",state="unauthorised"}')).toBeUndefined();
  });

  it('counts completed jobs by profile and conclusion, with their run time, for jobs this factory serves', async () => {
    const m = new Metrics(config);
    const completed = (conclusion: string, labels: string[]) => {
      const payload = webhookExample(
        'workflow_job',
        (p) => p.action === 'completed' && p.workflow_job.conclusion === conclusion,
      );
      Object.assign(payload.workflow_job, { labels });
      payload.repository.full_name = 'Org/App';
      const d = parseWorkflowJob(payload, `d-${Math.random()}`, 0);
      if ('error' in d) throw new Error(d.error);
      return d;
    };
    const served = (d: ReturnType<typeof completed>) => matchProfile(config, d.repo, d.job.labels)?.profileName;
    for (const d of [
      completed('success', ['factory', 'ci']),
      completed('failure', ['factory', 'ci']),
      completed('failure', ['ubuntu-latest']),
    ]) {
      m.delivery(d, served(d)); // the last is a hosted runner's job: not ours
    }

    const labels = `repo="org/app",profile="${served(completed('success', ['factory', 'ci']))}"`;
    expect(await sample(m, `factory_job_results_total{${labels},conclusion="success"}`)).toBe(1);
    expect(await sample(m, `factory_job_results_total{${labels},conclusion="failure"}`)).toBe(1);
    // 10:34:58 to 10:38:16 in GitHub's example: 198 s.
    expect(await sample(m, `factory_job_execution_seconds_sum{${labels},conclusion="success"}`)).toBe(198);
  });

  it('keeps /metrics bounded however many workflow and job names (and odd conclusions) the jobs carry', async () => {
    const m = new Metrics(config);
    const payload = webhookExample('workflow_job', (p) => p.action === 'completed');
    Object.assign(payload.workflow_job, { labels: ['factory', 'ci'] });
    payload.repository.full_name = 'org/app';
    const profile = matchProfile(config, 'org/app', ['factory', 'ci'])?.profileName;
    const before = (await m.text()).length;
    for (let i = 0; i < 20_000; i++) {
      Object.assign(payload.workflow_job, {
        id: 1_000_000 + i,
        name: `test (node ${i}, shard ${i % 7})`,
        workflow_name: `workflow ${i}`,
        conclusion: i % 1000 === 0 ? `made-up-${i}` : i % 2 ? 'success' : 'failure',
      });
      const d = parseWorkflowJob(payload, `d-${i}`, 0);
      if ('error' in d) throw new Error(d.error);
      m.delivery(d, profile);
    }
    const text = await m.text();
    expect(text).not.toMatch(/workflow \d|test \(node|made-up/);
    expect(text.match(/^factory_job_results_total\{/gm)).toHaveLength(3); // success, failure, other
    expect(await sample(m, `factory_job_results_total{repo="org/app",profile="${profile}",conclusion="other"}`)).toBe(
      20,
    );
    // The histogram's buckets are the most a series adds: a few KiB, not megabytes.
    expect(text.length - before).toBeLessThan(16 * 1024);
  });

  it('counts webhook answers by outcome, and carries the build info', async () => {
    const m = new Metrics(config);
    for (const status of [202, 202, 200, 401, 400, 413]) m.webhookResponse(status);
    expect(await sample(m, 'factory_webhook_deliveries_total{outcome="accepted"}')).toBe(2);
    expect(await sample(m, 'factory_webhook_deliveries_total{outcome="bad_signature"}')).toBe(1);
    expect(await sample(m, 'factory_webhook_deliveries_total{outcome="duplicate"}')).toBe(1);
    expect(await m.text()).toMatch(
      new RegExp(`^factory_build_info\\{version="\\d+\\.\\d+\\.\\d+[^"]*",node="${process.version}"\\} 1$`, 'm'),
    );
  });

  it('labels a call that followed a pagination link by its route, not by the repository id and page', async () => {
    const m = new Metrics(config);
    for (const page of [2, 3])
      m.onCall(`GET https://api.github.com/repositories/1296269/actions/runners?per_page=100&page=${page}`, 200);

    expect(
      await sample(
        m,
        'factory_github_api_calls_total{route="GET /repositories/{repository_id}/actions/runners",status="200"}',
      ),
    ).toBe(2);
    expect(await m.text()).not.toContain('1296269');
  });

  it('reads the queue, the running containers and Docker state from the controller at scrape time', async () => {
    const m = new Metrics(config);
    const runners = [
      { identity: { repo: 'org/app', profileName: 'ci' }, containerId: 'c1' },
      { identity: { repo: 'org/app', profileName: 'ci' } }, // registering: no container yet
    ];
    const controller = {
      snapshot: () => ({
        queued: [
          { repo: 'org/app', profileName: 'ci' },
          { repo: 'org/app', profileName: 'ci' },
        ],
        runners,
        dockerUp: false,
      }),
    };
    m.watch(controller as never);

    expect(await sample(m, 'factory_jobs_queued{repo="org/app",profile="ci"}')).toBe(2);
    expect(await sample(m, 'factory_runner_containers{repo="org/app",profile="ci"}')).toBe(1);
    expect(await sample(m, 'factory_docker_up')).toBe(0);
    runners.shift();
    expect(await sample(m, 'factory_runner_containers{repo="org/app",profile="ci"}')).toBeUndefined();
  });
});

describe('routeTemplate', () => {
  it('keeps a template as it is and strips a GitHub Enterprise Server API prefix from a followed link', () => {
    expect(routeTemplate('DELETE /repos/{owner}/{repo}/actions/runners/{runner_id}')).toBe(
      'DELETE /repos/{owner}/{repo}/actions/runners/{runner_id}',
    );
    expect(routeTemplate('GET https://ghe.example/api/v3/repositories/42/actions/runs/7/jobs?page=2', '/api/v3')).toBe(
      'GET /repositories/{repository_id}/actions/runs/{id}/jobs',
    );
  });
});

describe('countingEngine', () => {
  it('counts failed engine calls by operation and passes results and errors through unchanged', async () => {
    const m = new Metrics(config);
    const refused = Object.assign(new Error('connect ECONNREFUSED /var/run/docker.sock'), { code: 'ECONNREFUSED' });
    const engine = countingEngine(
      {
        ping: async () => {},
        run: async () => {
          throw refused;
        },
      } as unknown as Engine,
      m,
    );

    await engine.ping();
    await expect(engine.run({})).rejects.toBe(refused);
    await expect(engine.run({})).rejects.toBe(refused);

    expect(await sample(m, 'factory_docker_errors_total{operation="run"}')).toBe(2);
    expect(await sample(m, 'factory_docker_errors_total{operation="ping"}')).toBeUndefined();
  });
});
