// What a job can and cannot do on a profile, read off the container the controller would create for it (the same
// containerSpec and lane mounts a launch uses), so the table in docs/job-capabilities.md and `factory capabilities`
// cannot drift from what the controller does.
import type { Config, Profile } from '../config/config.js';
import { isReviewProfile } from '../config/review-profile.js';
import { isDockerSocketPath } from '../config/trust-gate.js';
import { brokerFallback } from '../config/broker-gate.js';
import { BROKER_PORT } from '../gateway/egress-policy.js';
import { laneMounts } from '../lanes/lane-layout.js';
import { containerSpec } from './runner-spec.js';
import { sidecarPlan, withJobDocker } from '../docker/job-docker-plan.js';

export const CAPABILITY_COLUMNS = [
  'Docker',
  '`services:`',
  '`container:`',
  '`sudo`',
  'Host network',
  'Caches between jobs',
  'Secrets',
] as const;

/**
 * Every profile key, sorted by whether it changes what a job can do. The capability test fails on a key in neither
 * list: a new profile option must say here whether the table has to speak of it.
 */
export const CAPABILITY_KEYS = [
  'network',
  'mounts',
  'envFiles',
  'mcp',
  'trusted',
  'lane',
  'user',
  'capAdd',
  'agentUser',
  'allowDockerSocket',
  'docker',
  'egress',
  'env',
] as const;
export const NOT_CAPABILITY_KEYS = [
  'labels',
  'image',
  'cpus',
  'memory',
  'pids',
  'probes',
  'credential',
  'credentialConcurrency',
  'nofile',
  'nproc',
  'init',
  'readOnlyRootfs',
  'placement',
  'dockerSocketReason',
  'runnerGroup',
  // A warm runner's container is the same as a cold one's; only when it starts differs.
  'warm',
  // The job uses the same login either way; whether it holds it or a placeholder is in the secrets column.
  'auth',
  'models',
  // Limits on the agent's run (time, turns, tokens, cost) that the action enforces; they grant nothing.
  'budget',
] as const;

export type Capabilities = Record<(typeof CAPABILITY_COLUMNS)[number], string>;

const list = (items: string[]) => items.join(', ');

/** The capabilities of a job on `profileName`, from the container spec a launch would create. */
export function jobCapabilities(config: Config, profileName: string, profile: Profile): Capabilities {
  const lane = laneMounts(config, profileName, profile, 'owner/repo', 'factory-capabilities-000000');
  const identity = {
    instance: config.instance,
    repo: 'owner/repo',
    profileName,
    jobId: 0,
    runnerId: 0,
    runnerName: 'factory-capabilities-000000',
  };
  const plain = containerSpec(identity, profile, '', { mounts: lane.mounts, env: lane.env });
  const sidecar = sidecarPlan(identity, profile);
  const spec = sidecar ? withJobDocker(plain, sidecar) : plain;
  const host = spec.HostConfig;
  const socket = host.Mounts.some((m) => isDockerSocketPath(m.Source)) || profile.allowDockerSocket;
  const gib = (n: number) => `${Math.round((n / 1024 ** 3) * 10) / 10}g`;
  const docker = sidecar
    ? `its own engine: a ${sidecar.mode} dockerd sidecar for this job alone, ${gib(sidecar.storage)} of storage, removed with the job${sidecar.mode === 'privileged' ? ' (host-root-equivalent)' : ''}`
    : socket
      ? "the host's engine, through its socket (host-root-equivalent)"
      : 'no: no socket, no engine';
  const needsDocker = sidecar
    ? sidecar.sharesNetwork
      ? "yes, on its own engine; published ports answer on the job's localhost"
      : "yes, on its own engine; services are reached from the job's containers"
    : socket
      ? "yes, on the host's engine"
      : 'no: the runner needs a Docker engine to start them and the job has none, so the job fails before its first step';

  const noNewPrivileges = host.SecurityOpt.includes('no-new-privileges');
  const caps = host.CapAdd;
  const root = /^0(:|$)/.test(spec.User);
  const sudo = root
    ? `runs as root, with ${caps.length ? `only ${list(caps)}` : 'no capability'}`
    : noNewPrivileges
      ? `no: uid ${spec.User}, no-new-privileges, ${caps.length ? `capabilities ${list(caps)} only` : 'every capability dropped'}`
      : `no: uid ${spec.User}, every capability dropped but ${list(caps)} (kept for the agent-user switch)`;

  const brokered = brokerFallback(profile) === undefined;
  const mode = sidecar?.sharesNetwork ? sidecar.network : host.NetworkMode;
  const egress = profile.egress;
  const network = egress
    ? `no: a network of its own with no route out; through the egress gateway only ${egress.allow.length ? list(egress.allow.map((r) => (r.port ? `${r.host}:${r.port}` : r.host))) : 'nothing'}${egress.loopback.length ? `, and this host's loopback ports ${list(egress.loopback.map(String))}` : ''}${brokered ? `; its model broker at the gateway's port ${BROKER_PORT}` : ''}`
    : mode === 'host'
      ? "yes: the host's network and loopback services"
      : mode === 'none'
        ? 'no: no network at all'
        : mode === 'bridge'
          ? `no: own network namespace (bridge${sidecar?.sharesNetwork ? ', shared with its Docker sidecar' : ''}), outbound through NAT`
          : `no: Docker network ${mode}`;

  const caches = profile.mounts.flatMap((m) => (m.kind === 'cache' ? [`${m.name} at ${m.target}`] : []));
  const data = profile.mounts.flatMap((m) =>
    m.kind === 'data' ? [m.target] : m.kind === 'bind' ? [`${m.target} (${m.mode})`] : [],
  );
  const cacheCell = [
    caches.length
      ? `kept per repo (an org runner: per org) and profile: ${list(caches)}`
      : 'none: every job starts from the image with a workspace of its own, removed after it',
    ...(data.length ? [`host folders (read-only unless said): ${list(data)}`] : []),
  ].join('; ');

  const secrets = ["the job's GITHUB_TOKEN and what its workflow passes"];
  for (const m of profile.mounts) {
    if (m.kind === 'auth')
      secrets.push(
        brokered
          ? `a placeholder for the host's ${m.agent} login (its model broker holds the login; nothing is written back)`
          : `${m.agent} subscription login (a private copy, written back when refreshed)`,
      );
    if (m.kind === 'gh')
      secrets.push(
        brokered
          ? `a placeholder for the host's gh login at ${m.target} (its broker adds the token to gh's API calls)`
          : `the host's gh login (read-only at ${m.target})`,
      );
    if (m.kind === 'secrets') secrets.push(`the secrets store (read-only at ${m.target})`);
  }
  if (profile.envFiles.length) secrets.push(`values of ${list(profile.envFiles)}`);
  const mcpTokens = [...new Set(profile.mcp.flatMap((s) => ('tokenEnv' in s && s.tokenEnv ? [s.tokenEnv] : [])))];
  if (mcpTokens.length)
    secrets.push(
      brokered
        ? `a placeholder for MCP tokens ${list(mcpTokens)} (its model broker adds them; they are not released)`
        : `MCP tokens ${list(mcpTokens)}`,
    );
  const mcpLogins = profile.mcp.flatMap((s) => ('url' in s && s.credential === 'oauth' ? [s.name] : []));
  if (mcpLogins.length)
    secrets.push(
      brokered
        ? `a placeholder for the host claude's MCP logins for ${list(mcpLogins)} (its model broker adds them and refreshes them on the host)`
        : `the host claude's MCP logins for ${list(mcpLogins)} (in the claude login's copy)`,
    );
  if (secrets.length === 1) secrets.push('nothing from the host');

  return {
    Docker: docker,
    '`services:`': needsDocker,
    '`container:`': needsDocker,
    '`sudo`': sudo,
    'Host network': network,
    'Caches between jobs': cacheCell,
    Secrets: list(secrets),
  };
}

/** The kind a profile is: a review lane by its label, a lane by its agent, else plain CI, with or without its own Docker engine. */
export function profileKind(profile: Profile): string {
  if (isReviewProfile(profile)) return 'Review lane (pull-request content)';
  if (profile.lane === 'codex') return 'Tier 2: codex lane';
  if (profile.lane === 'claude') return 'Tier 3: claude lane';
  if (profile.docker) return 'Docker opt-in';
  return profile.trusted ? 'trusted, no lane' : 'Tier 1: plain CI';
}

const escape = (cell: string) => cell.replace(/\|/g, '\\|');

/** One markdown row per profile (`byKind`: the first profile of each kind). */
export function capabilityTable(config: Config, opts: { byKind?: boolean } = {}): string {
  const seen = new Set<string>();
  const rows: Array<{ kind: string; profile: string; cells: Record<string, string> }> = [];
  for (const [name, profile] of Object.entries(config.profiles)) {
    const kind = profileKind(profile);
    if (opts.byKind && seen.has(kind)) continue;
    seen.add(kind);
    rows.push({ kind, profile: name, cells: jobCapabilities(config, name, profile) });
  }
  const header = ['Profile kind', 'Example profile', ...CAPABILITY_COLUMNS];
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map(
      (r) =>
        `| ${[r.kind, `\`${r.profile}\``, ...CAPABILITY_COLUMNS.map((c) => r.cells[c]!)].map(escape).join(' | ')} |`,
    ),
  ].join('\n');
}
