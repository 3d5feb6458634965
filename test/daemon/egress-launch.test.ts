// The launcher's hook for a job's egress: the gateway started first and made while GitHub registers the runner, the
// container started only behind it, on the gateway's network with the gateway as its resolver and proxy, and no
// gateway or runner left behind by a launch that fails at any step.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../controller/config/config.js';
import type { Engine } from '../../controller/docker/docker-engine.js';
import type { EgressGateways } from '../../controller/egress/egress-gateway.js';
import type { EgressPlan } from '../../controller/egress/egress-plan.js';
import { spareGateways } from '../../controller/egress/spare-gateways.js';
import { JobBrokers } from '../../controller/broker/job-brokers.js';
import { jobDir } from '../../controller/lanes/lane-layout.js';
import { recordingGitHub } from '../support/recording-github.js';
import { carryOut } from '../../controller/daemon/launcher.js';
import { planLaunch } from '../../controller/daemon/launch-plan.js';

const stateDir = mkdtempSync(join(tmpdir(), 'factory-egress-launch-'));
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

const config = configSchema.parse({
  github: { auth: { tokenEnv: 'T' }, webhook: { secret: { env: 'S' } } },
  stateDir,
  laneEnv: { PAPERCLIP_API_URL: 'http://127.0.0.1:3100', OTHER_URL: 'http://127.0.0.1:3101' },
  profiles: {
    fenced: {
      labels: ['self-hosted', 'fenced'],
      image: 'runner:1',
      trusted: true,
      egress: { allow: ['registry.npmjs.org'], loopback: [3100] },
      mcp: [
        { name: 'paperclip', url: 'http://127.0.0.1:3100/mcp' },
        { name: 'other', url: 'http://127.0.0.1:3101/mcp' },
      ],
    },
  },
  repos: [{ repo: 'o/r', profiles: ['fenced'] }],
});
const job = {
  jobId: 42,
  repo: 'o/r',
  profileName: 'fenced',
  profile: config.profiles.fenced!,
  receivedAt: 0,
  key: 'o/r',
  limits: [],
};

type Spec = { Env: string[]; HostConfig: { NetworkMode: string; Dns?: string[] } };

function world(fail: { gateway?: boolean; jit?: boolean; container?: boolean; slowGateway?: boolean } = {}) {
  const steps: string[] = [];
  const specs: Spec[] = [];
  const github = recordingGitHub(steps, fail);
  const engine = {
    async run(spec: Spec) {
      steps.push(`run ${spec.HostConfig.NetworkMode}`);
      specs.push(spec);
      if (fail.container) throw Object.assign(new Error('no such image'), { statusCode: 404 });
      return 'c1';
    },
  } as unknown as Engine;
  const egress: EgressGateways = {
    async create(plan: EgressPlan) {
      steps.push(`gateway ${plan.gateway} for ${plan.policy.allow.map((r) => r.host).join(',')}`);
      // Serving takes a while: the runner's registration goes on meanwhile.
      await new Promise((r) => setTimeout(r, fail.slowGateway ? 50 : 0));
      if (fail.gateway) throw new Error(`egress gateway ${plan.gateway} did not start: it exited`);
      steps.push('gateway serves');
      return { network: plan.network, address: '172.30.0.2', loopback: plan.policy.loopback };
    },
    async remove(runner) {
      steps.push(`remove gateway ${runner}`);
    },
    refusals: async () => [],
    sweep: async () => [],
  };
  return { steps, specs, deps: { config, github, engine, egress, registered: () => {} } };
}

describe('launching a job with egress', () => {
  it('starts the gateway first, then registers the runner, then runs the job behind it', async () => {
    const { steps, specs, deps } = world();
    const plan = planLaunch(config, job, []);
    const name = plan.identity.runnerName;
    expect(await carryOut(deps, plan, job)).toEqual({ kind: 'started', containerId: 'c1' });
    expect(steps).toEqual([
      `gateway ${name}-gateway for registry.npmjs.org`,
      'jit',
      'gateway serves',
      `run ${name}-egress`,
    ]);
    expect(specs[0]!.HostConfig.Dns).toEqual(['172.30.0.2']);
    expect(specs[0]!.Env).toEqual(
      expect.arrayContaining([
        'HTTPS_PROXY=http://172.30.0.2:3128',
        'NO_PROXY=172.30.0.2,localhost,127.0.0.1',
        // The one variable that points a lane at Paperclip still does, through the gateway's relay.
        'PAPERCLIP_API_URL=http://172.30.0.2:3100',
        'OTHER_URL=http://127.0.0.1:3101',
      ]),
    );
  });

  it("points the job's MCP files at the gateway for a relayed loopback server, and at nothing else", async () => {
    const { deps } = world();
    const plan = planLaunch(config, job, []);
    await carryOut(deps, plan, job);
    const mcp = join(stateDir, 'jobs', plan.identity.runnerName, 'mcp');
    for (const file of ['claude.json', 'codex.toml']) {
      const text = readFileSync(join(mcp, file), 'utf8');
      expect(text).toContain('http://172.30.0.2:3100/mcp');
      expect(text).toContain('http://127.0.0.1:3101/mcp');
    }
  });

  it('registers the runner while the gateway starts, and starts the container only once it serves', async () => {
    const { steps, deps } = world({ slowGateway: true });
    const plan = planLaunch(config, job, []);
    expect(await carryOut(deps, plan, job)).toMatchObject({ kind: 'started' });
    expect(steps.slice(1)).toEqual(['jit', 'gateway serves', `run ${plan.identity.runnerName}-egress`]);
  });

  it('a gateway that cannot start fails the job with its reason, and the runner GitHub holds meanwhile goes', async () => {
    const { steps, deps } = world({ gateway: true });
    const plan = planLaunch(config, job, []);
    expect(await carryOut(deps, plan, job)).toEqual({
      kind: 'failed',
      failure: expect.stringMatching(/egress gateway .* did not start/),
      retry: false,
    });
    expect(steps).toEqual([
      expect.stringMatching(/^gateway /),
      'jit',
      'delete runner',
      `remove gateway ${plan.identity.runnerName}`,
    ]);
  });

  it('removes the gateway when GitHub refuses the runner or the container cannot start', async () => {
    for (const fail of [{ jit: true }, { container: true }]) {
      const { steps, deps } = world(fail);
      const plan = planLaunch(config, job, []);
      expect(await carryOut(deps, plan, job)).toMatchObject({ kind: 'failed' });
      expect(steps.at(-1)).toBe(`remove gateway ${plan.identity.runnerName}`);
    }
  });

  it('fails a job whose profile asks for egress on a backend that has none, with nothing made', async () => {
    const { steps, deps } = world();
    const plan = planLaunch(config, job, []);
    const { egress: _none, ...noEgress } = deps;
    expect(await carryOut(noEgress, plan, job)).toEqual({
      kind: 'failed',
      failure: 'profile fenced asks for egress, which this backend cannot run',
      retry: false,
    });
    expect(steps).toEqual([]);
  });
});

describe('launching brokered jobs behind egress', () => {
  const claudeDir = join(stateDir, 'host-claude');
  const brokered = configSchema.parse({
    github: { auth: { tokenEnv: 'T' }, webhook: { secret: { env: 'S' } } },
    stateDir,
    profiles: {
      lane: {
        labels: ['self-hosted', 'lane'],
        image: 'runner:1',
        trusted: true,
        auth: 'broker',
        mounts: [{ kind: 'auth', agent: 'claude', source: claudeDir }],
        egress: { allow: ['api.anthropic.com'], loopback: [3100] },
      },
    },
    repos: [{ repo: 'o/r', profiles: ['lane'] }],
  });
  const laneJob = (jobId: number) => ({
    jobId,
    repo: 'o/r',
    profileName: 'lane',
    profile: brokered.profiles.lane!,
    receivedAt: 0,
    key: 'o/r',
    limits: [],
  });

  /** Gateways behind the spares, and one broker per job on a port of its own, as the controller's are. */
  function brokeredWorld() {
    const made: EgressPlan[] = [];
    const claimed: Array<{ spare: string; plan: EgressPlan }> = [];
    const specs: Spec[] = [];
    const gateways: EgressGateways = {
      async create(plan) {
        made.push(plan);
        return { network: plan.network, address: `172.30.${made.length}.2`, loopback: plan.policy.loopback };
      },
      async claim(spare, plan) {
        claimed.push({ spare, plan });
      },
      remove: async () => {},
      refusals: async () => [],
      sweep: async () => [],
    };
    let port = 41000;
    const running = new Map<string, number>();
    const brokers = {
      async start(_profile: unknown, runnerName: string) {
        running.set(runnerName, ++port);
        return { port, token: `factory-broker-${runnerName}` };
      },
      withBroker: (spec: Spec, _runner: string, _profile: unknown, url?: string) => ({
        ...spec,
        Env: [...spec.Env, `ANTHROPIC_BASE_URL=${url}`],
      }),
      grant: async () => {},
      close: async () => {},
    } as unknown as JobBrokers;
    const engine = {
      async run(spec: Spec) {
        specs.push(spec);
        return `c${specs.length}`;
      },
    } as unknown as Engine;
    const egress = spareGateways(gateways);
    const deps = { ...world().deps, config: brokered, engine, egress, brokers };
    return { made, claimed, specs, running, egress, deps };
  }

  it("the next brokered job claims the spare the last one left, and its gateway relays to this job's broker", async () => {
    const w = brokeredWorld();
    const settle = () => new Promise((r) => setTimeout(r, 0));
    const first = planLaunch(brokered, laneJob(1), []);
    expect(await carryOut(w.deps, first, laneJob(1))).toMatchObject({ kind: 'started' });
    await settle();
    // The spare made after the first job relays no job's broker: it has none until a job claims it.
    expect(w.made).toHaveLength(2);
    expect(w.made[1]!.broker).toBeUndefined();

    const second = planLaunch(brokered, laneJob(2), []);
    expect(await carryOut(w.deps, second, laneJob(2))).toMatchObject({ kind: 'started' });
    expect(w.claimed.map((c) => [c.spare, c.plan.runnerName])).toEqual([
      [w.made[1]!.runnerName, second.identity.runnerName],
    ]);
    expect(w.claimed[0]!.plan.broker).toBe(w.running.get(second.identity.runnerName));
    // Each job reaches its broker at its own gateway's broker port, whatever port the broker has on the host.
    expect(w.specs.map((s) => s.Env.find((e) => e.startsWith('ANTHROPIC_BASE_URL=')))).toEqual([
      'ANTHROPIC_BASE_URL=http://172.30.1.2:3129',
      'ANTHROPIC_BASE_URL=http://172.30.2.2:3129',
    ]);
    await w.egress.close!();
  });

  it("reaches its token MCP servers at its gateway's broker port, with the placeholder's variable as bearer", async () => {
    const lane = brokered.profiles.lane!;
    const withMcp: typeof brokered = {
      ...brokered,
      profiles: {
        lane: {
          ...lane,
          mcp: [
            { name: 'linear', url: 'https://mcp.linear.app/mcp', credential: 'token', tokenEnv: 'LINEAR_API_KEY' },
            { name: 'paperclip', url: 'http://127.0.0.1:3100/mcp', credential: 'none' },
          ],
        },
      },
    };
    const w = brokeredWorld();
    const brokers = new JobBrokers(() => withMcp);
    try {
      const mcpJob = { ...laneJob(3), profile: withMcp.profiles.lane! };
      const plan = planLaunch(withMcp, mcpJob, []);
      const deps = { ...w.deps, config: withMcp, brokers };
      expect(await carryOut(deps, plan, mcpJob)).toMatchObject({ kind: 'started' });
      const dir = join(jobDir(withMcp, plan.identity.runnerName), 'mcp');
      const servers = JSON.parse(readFileSync(join(dir, 'claude.json'), 'utf8')).mcpServers;
      expect(servers.linear).toEqual({
        type: 'http',
        url: 'http://172.30.1.2:3129/mcp/linear',
        headers: { Authorization: 'Bearer ${FACTORY_MCP_BROKER_TOKEN}' },
      });
      expect(servers.paperclip.url).toBe('http://172.30.1.2:3100/mcp');
      expect(readFileSync(join(dir, 'codex.toml'), 'utf8')).toContain('url = "http://172.30.1.2:3129/mcp/linear"');
    } finally {
      await brokers.closeAll();
      await w.egress.close!();
    }
  });
});
