// `factory doctor`: proves the connection map arrives. For each profile it starts a short-lived container with
// exactly that profile's mounts, network, user and environment, and checks from inside; then it checks the host:
// Docker, GitHub auth for each repo, the pinned runner version against GitHub's latest, disk use.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config, Profile } from '../config/config.js';
import type { Engine } from '../docker/docker-engine.js';
import { GitHubError, type GitHubApi } from '../github/github-client.js';
import { fixFor, stateOf } from '../github/github-errors.js';
import { describeProxy, proxySettings } from '../github/github-proxy.js';
import { RunnerGroupError, runnerGroupId } from '../github/runner-groups.js';
import { coversRepo } from '../config/repo-patterns.js';
import { resolveWebhookSecret } from '../config/webhook-secret.js';
import { webhookListener } from '../config/webhook-intake.js';
import { agentCanaryCommand, parseAgentCanary } from './doctor-agent.js';
import type { SwarmNode } from '../docker/swarm-placement.js';
import { swarmRows } from './doctor-swarm.js';
import { ghLoginRows } from './doctor-gh-login.js';
import { mcpOAuthRows } from './doctor-mcp-oauth.js';
import { mcpCredentialSource } from '../config/mcp-credentials.js';
import { brokerFallback } from '../config/broker-gate.js';
import { workflowDockerRows } from './doctor-workflows.js';
import { runsOnRows } from './doctor-runs-on.js';
import { pinnedRunnerVersion, runnerVersionRow } from './doctor-runner-version.js';
import { DOCTOR_MOUNT, doctorScript, parseDoctorOutput, type CheckResult, type DoctorRow } from './doctor-script.js';
import { readEnvFiles } from '../lanes/env-file.js';
import { diskUse } from '../housekeeping/disk-usage.js';
import { toHostPath } from '../config/host-path-map.js';
import { holdCredential } from '../lanes/credential-hold.js';
import { finishJobFolder, prepareJobFolder, rewriteMcpFiles } from '../lanes/job-folder.js';
import { releasedMcpEnv, releaseJob, releasesOnAssignment } from '../lanes/release.js';
import { readBrokerGrant } from '../lanes/broker-placeholders.js';
import { brokerUrl, relayedValue, withEgress } from '../egress/egress-plan.js';
import { laneRunAuth, startLaneRunBroker, type LaneRunBroker } from './lane-run-broker.js';
import { laneRunEgress, type LaneRunEgress } from './lane-run-extras.js';
import { jobDir, laneMounts } from '../lanes/lane-layout.js';
import { profileContainer } from '../docker/container-spec.js';
import { AUTH_FILES } from '../../lane-contract/auth-files.js';
import { isCredentialShape } from '../../lane-contract/credential-shape.js';
import { errorMessage } from '../util/error-message.js';

export interface DoctorDeps {
  config: Config;
  engine: Engine;
  github: GitHubApi | undefined;
  githubError?: string;
  diskThreshold: number;
  /** Docker's data root as the engine reports it (default /var/lib/docker). */
  dockerRoot?: string;
  env?: NodeJS.ProcessEnv;
  /** The swarm's node list (backend swarm): asked of the manager the controller talks to. */
  swarmNodes?: () => Promise<SwarmNode[]>;
  /** The runner version the images pin; read from the package's upstream Dockerfile unless told. */
  pinnedRunnerVersion?: () => Promise<string>;
}

const CONTAINER_TIMEOUT_MS = 60_000;
const AGENT_TIMEOUT_MS = 180_000;

export async function runDoctor(
  deps: DoctorDeps,
  onlyProfile?: string,
  opts: { agent?: boolean } = {},
): Promise<DoctorRow[]> {
  const rows: DoctorRow[] = [];
  const host = (r: CheckResult) => rows.push({ scope: 'host', ...r });
  let dockerUp = true;
  try {
    await deps.engine.ping();
    host({ name: 'docker engine', ok: true, detail: `answers on ${deps.config.docker.socketPath}` });
  } catch (err) {
    dockerUp = false;
    host({
      name: 'docker engine',
      ok: false,
      detail: errorMessage(err),
      fix: 'start dockerd, and run the controller as a user in the docker group',
    });
  }
  // Asked beside the repos' checks: GitHub not answering costs one wait, not two.
  const runnerVersion = runnerVersionRow(
    deps.pinnedRunnerVersion ?? (() => pinnedRunnerVersion()),
    deps.github?.latestRunnerVersion ? () => deps.github!.latestRunnerVersion!() : undefined,
  );
  rows.push(...(await githubRows(deps)));
  rows.push(await runnerVersion);
  rows.push(...(await workflowRows(deps)));
  rows.push(...(await webhookSecretRows(deps)));
  rows.push(...(await diskRows(deps)));
  if (deps.config.backend === 'swarm' && dockerUp) rows.push(...(await swarmNodeRows(deps, onlyProfile)));
  const names = onlyProfile ? [onlyProfile] : Object.keys(deps.config.profiles);
  for (const name of names) {
    const profile = deps.config.profiles[name];
    if (!profile) {
      rows.push({
        scope: name,
        name: 'profile',
        ok: false,
        detail: 'not in the config',
        fix: `one of: ${Object.keys(deps.config.profiles).join(', ')}`,
      });
      continue;
    }
    if (dockerUp) rows.push(...(await profileRows(deps, name, profile, opts.agent === true)));
  }
  return rows;
}

/** The route to GitHub: the proxy the client takes (credentials redacted) and the extra CA file Node trusts. */
async function githubRouteRows(env: NodeJS.ProcessEnv): Promise<DoctorRow[]> {
  const rows: DoctorRow[] = [];
  try {
    rows.push({ scope: 'host', name: 'github proxy', ok: true, detail: describeProxy(proxySettings(env)) });
  } catch (err) {
    rows.push({
      scope: 'host',
      name: 'github proxy',
      ok: false,
      detail: errorMessage(err),
      fix: 'set HTTPS_PROXY to http://[user:password@]host:port, or unset it',
    });
  }
  const ca = env.NODE_EXTRA_CA_CERTS;
  if (ca) {
    const pem = await readFile(ca, 'utf8').catch((err: NodeJS.ErrnoException) => err);
    const count = typeof pem === 'string' ? (pem.match(/-----BEGIN CERTIFICATE-----/g) ?? []).length : 0;
    rows.push(
      count > 0
        ? { scope: 'host', name: 'github CA', ok: true, detail: `NODE_EXTRA_CA_CERTS ${ca}: ${count} certificate(s)` }
        : {
            scope: 'host',
            name: 'github CA',
            ok: false,
            detail: `NODE_EXTRA_CA_CERTS ${ca}: ${typeof pem === 'string' ? 'no PEM certificate in it' : `cannot read it (${pem.code})`}`,
            fix: 'point NODE_EXTRA_CA_CERTS at a readable PEM file with the CA certificate(s)',
          },
    );
  }
  return rows;
}

async function githubRows({ config, github, githubError, env = {} }: DoctorDeps): Promise<DoctorRow[]> {
  const route = await githubRouteRows(env);
  if (!github)
    return [
      ...route,
      {
        scope: 'host',
        name: 'github auth',
        ok: false,
        detail: githubError ?? 'no client',
        fix: 'set the variable or file named in github.auth',
      },
    ];
  // In parallel: an unreachable GitHub costs each repo its retries, and they need not queue behind one another.
  const orgRows = Promise.all(config.orgs.map((org) => githubOrgRows(config, github, org)));
  const repoRows = Promise.all(
    config.repos.map(async ({ repo }): Promise<DoctorRow> => {
      try {
        const runners = await github.listRunners(repo);
        return {
          scope: 'host',
          name: `github ${repo}`,
          ok: true,
          detail: `runner API answers (${runners.length} runner(s) registered)`,
        };
      } catch (err) {
        const kind = err instanceof GitHubError ? err.kind : 'unreachable';
        const state = stateOf(kind);
        const fix = fixFor(kind);
        return {
          scope: 'host',
          name: `github ${repo}`,
          ok: false,
          detail: `${state}: ${errorMessage(err)}`,
          fix,
        };
      }
    }),
  );
  return [...route, ...(await repoRows), ...(await orgRows).flat()];
}

/** An org entry's credential needs the organisation's runner permission, not the repo's (docs/org-runners.md). */
const ORG_FORBIDDEN =
  "the credential works but may not manage the organisation's runners: give it the organisation permission Self-hosted runners: read and write, and Actions: read on the covered repos (classic token: admin:org; for an App: install it on the organisation)";

const failedOrgRow = (name: string, err: unknown): DoctorRow => {
  const kind = err instanceof GitHubError ? err.kind : 'unreachable';
  const state = stateOf(kind);
  return {
    scope: 'host',
    name,
    ok: false,
    detail: `${state}: ${errorMessage(err)}`,
    fix: state === 'forbidden' ? ORG_FORBIDDEN : fixFor(kind),
  };
};

/**
 * An org entry: the org runner API answers, the repos it covers, and each profile's runner group exists and admits
 * every covered repo (what would otherwise fail the first job of each repo).
 */
async function githubOrgRows(config: Config, github: GitHubApi, org: Config['orgs'][number]): Promise<DoctorRow[]> {
  const name = `github org ${org.name}`;
  if (!github.org) return [{ scope: 'host', name, ok: false, detail: 'this GitHub client has no org scope' }];
  let covered: string[];
  try {
    const runners = await github.org.listRunners(org.name);
    covered = (await github.org.listRepos(org.name))
      .filter((r) => !r.archived && coversRepo(org, r.fullName))
      .map((r) => r.fullName);
    const row: DoctorRow = {
      scope: 'host',
      name,
      ok: covered.length > 0,
      detail: `org runner API answers (${runners.length} runner(s)); the entry covers ${covered.length} repo(s)${covered.length ? `: ${covered.join(', ')}` : ''}`,
    };
    if (!row.ok) row.fix = `no repo of ${org.name} matches orgs[].include minus exclude; check the patterns`;
    const rows = [row];
    for (const profileName of org.profiles) {
      const profile = config.profiles[profileName];
      const group = profile?.runnerGroup;
      if (!group) continue;
      const path = `profiles.${profileName}.runnerGroup`;
      const problems: string[] = [];
      for (const repo of covered) {
        try {
          await runnerGroupId(github, { org: org.name, group, repo, path, trusted: profile.trusted });
        } catch (err) {
          if (!(err instanceof RunnerGroupError)) throw err;
          problems.push(err.message);
          // A missing group, or one a lane may not use, is the same answer for every repo: say it once.
          if (!err.message.includes('does not admit')) break;
        }
      }
      rows.push({
        scope: 'host',
        name: `runner group ${group} (${org.name})`,
        ok: problems.length === 0,
        detail: problems.length ? problems.join('; ') : `exists and admits the ${covered.length} covered repo(s)`,
        ...(problems.length ? { fix: `create the group on GitHub or change ${path}, and open it to these repos` } : {}),
      });
    }
    return rows;
  } catch (err) {
    return [failedOrgRow(name, err)];
  }
}

/** Jobs whose workflows need Docker on a profile without it; read through GitHub's contents API, one repo at a time. */
async function workflowRows({ config, github }: DoctorDeps): Promise<DoctorRow[]> {
  if (!github?.listWorkflowFiles) return [];
  const rows: DoctorRow[] = [];
  for (const { repo } of config.repos) {
    try {
      const files = await github.listWorkflowFiles(repo);
      rows.push(...workflowDockerRows(config, repo, files));
      rows.push(...(await runsOnRows(config, github, repo, files)));
    } catch (err) {
      rows.push({
        scope: repo,
        name: 'workflows',
        ok: true,
        warning: true,
        detail: `not read: ${errorMessage(err)}`,
        fix: 'give the token or App read access to contents',
      });
    }
  }
  return rows;
}

/**
 * The webhook secret is set, long enough not to be guessed, and not readable by every user on the host. A wrong one
 * shows only as GitHub's deliveries failing (401 here, "bad signature" in factory_webhook_deliveries_total).
 */
async function webhookSecretRows({ config, env }: DoctorDeps): Promise<DoctorRow[]> {
  // `intake: scaleset` listens for no webhook, so no secret is read and none is checked.
  const webhook = webhookListener(config);
  if (!webhook) return [];
  const ref = webhook.secret;
  const where = ref.env ? `environment variable ${ref.env}` : `file ${ref.file}`;
  const row = (ok: boolean, detail: string, fix?: string): DoctorRow[] => [
    { scope: 'host', name: 'webhook secret', ok, detail, ...(fix ? { fix } : {}) },
  ];
  let secret: string;
  try {
    secret = await resolveWebhookSecret(webhook, env ?? process.env);
  } catch (err) {
    return row(
      false,
      errorMessage(err),
      `set ${where} to the secret entered in the repo's (or App's) webhook settings`,
    );
  }
  if (secret.length < 16)
    return row(
      false,
      `${where} holds ${secret.length} characters`,
      "use a long random secret (openssl rand -hex 32) here and in GitHub's webhook settings",
    );
  if (ref.file) {
    const mode = (await stat(ref.file)).mode & 0o777;
    if (mode & 0o004)
      return row(false, `${ref.file} is readable by every user (mode ${mode.toString(8)})`, `chmod 0640 ${ref.file}`);
  }
  return row(true, `${where} is set (${secret.length} characters); GitHub must send the same one`);
}

async function swarmNodeRows(deps: DoctorDeps, onlyProfile?: string): Promise<DoctorRow[]> {
  try {
    return swarmRows(deps.config, (await deps.swarmNodes?.()) ?? [], onlyProfile);
  } catch (err) {
    const fix =
      'point docker.socketPath at a swarm manager (docker swarm init on the first node, docker swarm join on the others)';
    return [{ scope: 'swarm', name: 'swarm manager', ok: false, detail: errorMessage(err), fix }];
  }
}

async function diskRows({ config, diskThreshold, dockerRoot }: DoctorDeps): Promise<DoctorRow[]> {
  return (await diskUse([config.stateDir, dockerRoot ?? '/var/lib/docker'])).map(({ path, usedRatio, freeBytes }) => {
    const used = Math.round(usedRatio * 100);
    return {
      scope: 'host',
      name: `disk ${path}`,
      ok: used <= diskThreshold,
      detail: `${used}% used, ${(freeBytes / 1024 ** 3).toFixed(1)} GiB free (threshold ${diskThreshold}%)`,
      ...(used > diskThreshold ? { fix: 'prune old images and build cache (factory prune, docker system prune)' } : {}),
    };
  });
}

async function profileRows(deps: DoctorDeps, name: string, profile: Profile, agent: boolean): Promise<DoctorRow[]> {
  // The doctor's job folders live apart from the controller's, whose reconciler sweeps folders of runners it lacks.
  const config = { ...deps.config, stateDir: join(deps.config.stateDir, 'doctor') };
  const { engine } = deps;
  const rows: DoctorRow[] = [];
  if (!(await engine.hasImage(profile.image))) {
    return [
      {
        scope: name,
        name: 'image',
        ok: false,
        detail: `${profile.image} is not on this host`,
        fix: 'build it (factory images build) or fix profiles.' + name + '.image',
      },
    ];
  }
  for (const m of profile.mounts) {
    if (m.kind !== 'auth') continue;
    for (const f of AUTH_FILES[m.agent].filter((x) => x.credential)) {
      const text = await readFile(join(m.source, f.name), 'utf8').catch(() => undefined);
      const ok = text !== undefined && isCredentialShape(m.agent, text);
      rows.push({
        scope: name,
        name: `auth ${m.agent} ${f.name} on host`,
        ok,
        detail:
          text === undefined
            ? `${m.source}/${f.name} missing`
            : ok
              ? `parses as ${m.agent} credentials`
              : 'does not parse as credentials',
        ...(ok ? {} : { fix: `log in to ${m.agent} on the host (as the user whose home holds ${m.source})` }),
      });
    }
  }

  const hosts = new Map<string, string | undefined>();
  for (const m of profile.mounts)
    if (m.kind === 'gh')
      hosts.set(m.source, await readFile(join(m.source, 'hosts.yml'), 'utf8').catch(() => undefined));
  rows.push(...ghLoginRows(profile, (source) => hosts.get(source)).map((r) => ({ scope: name, ...r })));

  // Where each MCP server's credential comes from, one row each, so an operator sees which login a deaf server needs.
  for (const s of profile.mcp)
    rows.push({
      scope: name,
      name: `mcp ${s.name} credential`,
      ok: true,
      detail: mcpCredentialSource(s, brokerFallback(profile) === undefined),
    });
  for (const m of profile.mounts) {
    if (m.kind !== 'auth' || m.agent !== 'claude') continue;
    const text = await readFile(join(m.source, '.credentials.json'), 'utf8').catch(() => undefined);
    rows.push(...mcpOAuthRows(profile, m.source, text).map((r) => ({ scope: name, ...r })));
  }

  const runner = `factory-doctor-${name}-${randomBytes(3).toString('hex')}`;
  const token = randomBytes(12).toString('hex');
  const probeDir = join(config.stateDir, 'probes', runner);
  const { script, checks } = doctorScript(profile, token);
  try {
    await mkdir(probeDir, { recursive: true, mode: 0o755 });
    await writeFile(join(probeDir, 'probe'), token, { mode: 0o644 });
    await prepareJobFolder(config, name, profile, runner);
    // The doctor is the operator's own check, not a job GitHub assigned: it sees the lane as a released job does.
    if (releasesOnAssignment(profile))
      await releaseJob(config, name, profile, runner, { repo: 'doctor/doctor', jobId: 0, runId: 0 });
    // Workspace and cache folders are left out: the doctor must not create a repo's cache as a side effect.
    const lane = laneMounts(config, name, profile, 'doctor/doctor', runner);
    const work = new Set(
      profile.mounts.flatMap((m) => (m.kind === 'workspace' || m.kind === 'cache' ? [m.target] : [])),
    );
    const withoutWork = (list: typeof lane.mounts) => list.filter((m) => !work.has(m.Target));
    const mounts = withoutWork(lane.mounts);
    const envFiles = await readEnvFiles(profile.envFiles);
    const env = { ...profile.env, ...lane.env, ...envFiles };
    // The doctor's containers are the profile's container as a job gets it (user, limits, hardening): what the doctor
    // can read is what a job can read. Only the command, a few variables and the job folder differ.
    const spec = (
      containerName: string,
      command: string,
      extraEnv: Record<string, string> = {},
      laneOwn: typeof mounts = mounts,
      baseEnv: Record<string, string> = env,
    ) => ({
      ...profileContainer(profile, {
        name: containerName,
        env: { ...baseEnv, ...extraEnv },
        labels: { 'factory.doctor': 'true' },
        mounts: [
          ...laneOwn,
          {
            Type: 'bind' as const,
            Source: toHostPath(probeDir, config.hostPathMap),
            Target: DOCTOR_MOUNT,
            ReadOnly: true,
          },
        ],
      }),
      Entrypoint: ['/bin/sh', '-c'],
      Cmd: [command],
    });
    const result = await engine.runToExit(spec(runner, script), CONTAINER_TIMEOUT_MS);
    if (result.timedOut)
      rows.push({
        scope: name,
        name: 'container',
        ok: false,
        detail: `checks did not finish within ${CONTAINER_TIMEOUT_MS / 1000}s`,
        fix: 'see which probe hangs',
      });
    rows.push(...parseDoctorOutput(result.output, checks).map((r) => ({ scope: name, ...r })));
    const canary = agent ? agentCanaryCommand(profile) : undefined;
    if (canary && profile.lane) {
      // A real turn may refresh the login: it takes the credential as `factory lane run` does (one lock with
      // workflow jobs), in its own job folder under the controller's stateDir, and writes the refresh back. A
      // brokered profile's turn is brokered as a lane run's is: placeholders, a broker of its own, nothing back.
      const agentName = `${runner}-agent`;
      const { brokered } = laneRunAuth(profile);
      const hold = await holdCredential(
        deps.config,
        {
          profileName: name,
          profile,
          name: agentName,
          kind: 'lane-run',
          brokered,
        },
        (n) => engine.remove(n),
      );
      if (!hold.held) {
        rows.push({
          scope: name,
          name: `agent ${profile.lane} turn`,
          ok: false,
          detail: hold.heldBy,
          fix: 'run the canary again when that job has finished',
        });
      } else {
        let broker: LaneRunBroker | undefined;
        let egress: LaneRunEgress | undefined;
        try {
          let url: string | undefined;
          if (brokered) {
            broker = await startLaneRunBroker(deps.config, profile, agentName);
            // Behind egress the broker is reached only through a gateway's relay: the turn gets the lane run's.
            egress = await laneRunEgress(deps.config, name, profile, agentName, broker.port);
            url = egress && brokerUrl(egress.lease);
            await broker.grant(url);
          }
          await releaseJob(deps.config, name, profile, agentName, { repo: 'doctor/doctor', jobId: 0, runId: 0 });
          const agentLane = laneMounts(deps.config, name, profile, 'doctor/doctor', agentName);
          const own = withoutWork(agentLane.mounts);
          const grant = broker && (await readBrokerGrant(jobDir(deps.config, agentName)));
          // A brokered turn's env-file values as the release gives them: its MCP tokens stay on the host.
          const turnEnv = grant
            ? { ...profile.env, ...agentLane.env, ...releasedMcpEnv(envFiles, profile, grant) }
            : env;
          let turnSpec = spec(agentName, canary.script, canary.env, own, turnEnv);
          if (egress) {
            const lease = egress.lease;
            turnSpec = { ...turnSpec, ...withEgress(turnSpec, lease) };
            if (profile.mcp.length > 0) await rewriteMcpFiles(deps.config, agentName, (t) => relayedValue(t, lease));
          }
          if (broker) turnSpec = broker.withBroker(turnSpec, url);
          const started = Date.now();
          const turn = await engine.runToExit(turnSpec, AGENT_TIMEOUT_MS);
          const ms = Date.now() - started;
          rows.push({
            scope: name,
            ...(turn.timedOut
              ? {
                  name: `agent ${profile.lane} turn`,
                  ok: false,
                  detail: `no answer within ${AGENT_TIMEOUT_MS / 1000}s`,
                  fix: 'check the model endpoint the lane reaches and its network',
                }
              : parseAgentCanary(profile.lane, turn.output, turn.exitCode, ms)),
          });
        } finally {
          await egress?.remove().catch(() => {});
          await broker?.close();
          await finishJobFolder(deps.config, agentName).catch(() => {});
        }
      }
    } else if (agent) {
      rows.push({ scope: name, name: 'agent turn', ok: true, detail: 'not a lane profile (no lane:), nothing to run' });
    }
  } catch (err) {
    rows.push({
      scope: name,
      name: 'container',
      ok: false,
      detail: errorMessage(err),
      fix: `check profiles.${name} (mount sources must exist on the Docker host)`,
    });
  } finally {
    await finishJobFolder(config, runner).catch(() => {});
    await rm(probeDir, { recursive: true, force: true });
  }
  return rows;
}

/** One row per check, ✓ or ✗, with the fix under each ✗. */
export function formatDoctor(rows: readonly DoctorRow[]): string {
  const scopeWidth = Math.max(...rows.map((r) => r.scope.length), 5);
  const nameWidth = Math.max(...rows.map((r) => r.name.length), 5);
  const lines = rows.flatMap((r) => {
    const mark = r.warning ? '!' : r.ok ? '✓' : '✗';
    const line = `${mark} ${r.scope.padEnd(scopeWidth)}  ${r.name.padEnd(nameWidth)}  ${r.detail}`;
    return (r.ok && !r.warning) || !r.fix ? [line] : [line, `  ${' '.repeat(scopeWidth)}  fix: ${r.fix}`];
  });
  const failed = rows.filter((r) => !r.ok).length;
  const warned = rows.filter((r) => r.ok && r.warning).length;
  const warnings = warned > 0 ? `, ${warned} warning(s)` : '';
  lines.push(
    '',
    failed === 0
      ? `all ${rows.length} checks passed${warnings}`
      : `${failed} of ${rows.length} checks failed${warnings}`,
  );
  return lines.join('\n');
}
