// Where a lane's connections appear inside its container, and the variables that tell the action suite so, by the
// lane contract (lane-contract/lane-variables.ts) that the actions read.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { IN_CONTAINER, LANE_VARIABLES as V } from '../../lane-contract/lane-variables.js';
import { formatPath, type Config, type Mount, type Profile } from '../config/config.js';
import { dataGates } from '../config/data-gate.js';
import { hostView, refuseUnsafeProfile } from '../config/trust-gate.js';
import { HOOKS_IN_CONTAINER, JOB_STARTED_HOOK, NEXT_HOOK_VARIABLE, RUNNER_HOOK_VARIABLE } from './job-started-hook.js';

/** The per-job folder on the controller's side: private auth copies and rendered MCP files. */
export const jobDir = (config: Config, runnerName: string) => join(config.stateDir, 'jobs', runnerName);

/** The job's own workspace, inside its job folder: owned by the container user, removed with the folder. */
export const workspaceDir = (config: Config, runnerName: string) => join(jobDir(config, runnerName), 'workspace');

/** A data gate's folder (config/data-gate.ts), the k-th of the profile's: mode 000 until the release opens it. */
export const dataGateDir = (config: Config, runnerName: string, k: number) =>
  join(jobDir(config, runnerName), 'data', String(k));

/**
 * A tool cache kept between jobs, named in the profile. Keyed by scope (cacheScope) and profile too, hashed so `a/b-c`
 * and `a-b/c` never share one: a cache a Tier-1 job can write must never be read by a lane of the same repo (a
 * poisoned pnpm store would run the attacker's code next to the lane's credentials).
 */
export function cacheDir(config: Config, scope: string, profileName: string, name: string): string {
  const slug = `${scope}-${profileName}-${name}`
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-')
    .slice(0, 64);
  const hash = createHash('sha256').update(`${scope.toLowerCase()}\0${profileName}\0${name}`).digest('hex').slice(0, 8);
  return join(config.stateDir, 'caches', `${slug}-${hash}`);
}

/**
 * Whose caches a runner mounts: a repo runner's repo. An org runner may be handed the job of any repo its runner group
 * admits, not the one it was made for, so a per-repo key would only pretend to keep repos apart: its caches are the
 * org's, shared by the repos the org entry serves with the profile.
 */
export const cacheScope = (runner: { repo: string; org?: string | undefined }): string =>
  runner.org ? `org:${runner.org}` : runner.repo;

/**
 * One key per login the profile holds: its auth sources as the Docker host sees them (symlinks resolved, hostPathMap
 * applied), whatever the profile calls them. Jobs that share a key run `credentialConcurrency` at a time: a token
 * refresh in one strands every other copy, so two profiles holding one login under two `credential:` names, or one
 * holding it beside another login, still take turns on it.
 */
export function credentialKeys(config: Config, profile: Profile): string[] {
  const sources = profile.mounts.flatMap((m) => (m.kind === 'auth' ? [hostView(m.source, config.hostPathMap)] : []));
  return [...new Set(sources)].sort().map((s) => `auth:${s}`);
}

export interface DockerMount {
  Type: 'bind' | 'volume';
  Source: string;
  Target: string;
  ReadOnly?: boolean;
}

/** Docker mounts and contract variables for a profile's job; bind sources are translated to the host's view. */
/** `scope`: whose caches the runner mounts (cacheScope). */
export function laneMounts(config: Config, profileName: string, profile: Profile, scope: string, runnerName: string) {
  // Checked again at launch: a symlink made after `factory validate` must not turn a harmless bind into the socket.
  const problems: string[] = [];
  refuseUnsafeProfile(config, profileName, profile, (path, message) =>
    problems.push(`profiles.${profileName}.${formatPath(path)}: ${message}`),
  );
  if (problems.length > 0) throw new Error(problems.join('; '));
  const dir = jobDir(config, runnerName);
  // Docker binds what was checked: the source with its symlinks resolved, in the host's view.
  const host = (path: string) => hostView(path, config.hostPathMap);
  const mounts: DockerMount[] = [];
  const env: Record<string, string> = {
    ...(profile.trusted ? config.laneEnv : {}),
    [V.profile]: profileName,
    // True of every container the controller starts, Tier 1 included: the container is the sandbox.
    [V.sandbox]: 'container',
  };
  if (profile.lane) env[V.lane] = profile.lane;
  Object.assign(env, budgetVariables(profile.budget));
  if (profile.agentUser)
    Object.assign(env, { [V.agentUser]: profile.agentUser, [V.agentExec]: IN_CONTAINER.agentExec });
  for (const [i, m] of profile.mounts.entries())
    mounts.push(...mountFor(m, i, { config, dir, host, scope, profileName, env }));
  // Each data mount sits in its gate, shut until the release (data-release.ts); read-only, so no uid can chmod it.
  dataGates(profile).forEach((gate, k) =>
    mounts.push({ Type: 'bind', Source: host(dataGateDir(config, runnerName, k)), Target: gate.path, ReadOnly: true }),
  );
  // A lane's credentials arrive here on a verified assignment (release.ts); read-only, so no job can fake one.
  if (profile.trusted) {
    mounts.push({ Type: 'bind', Source: host(join(dir, 'release')), Target: IN_CONTAINER.releaseDir, ReadOnly: true });
    env[V.releaseDir] = IN_CONTAINER.releaseDir;
    // And no step of the job runs before that (job-started-hook.ts); a profile's own hook runs after the gate.
    mounts.push({ Type: 'bind', Source: host(join(dir, 'hooks')), Target: HOOKS_IN_CONTAINER, ReadOnly: true });
    const own = profile.env[RUNNER_HOOK_VARIABLE];
    if (own) env[NEXT_HOOK_VARIABLE] = own;
    env[RUNNER_HOOK_VARIABLE] = `${HOOKS_IN_CONTAINER}/${JOB_STARTED_HOOK}`;
  }
  if (profile.mcp.length > 0) {
    mounts.push({ Type: 'bind', Source: host(join(dir, 'mcp')), Target: IN_CONTAINER.mcpDir, ReadOnly: true });
    Object.assign(env, { [V.mcpClaude]: IN_CONTAINER.mcpClaude, [V.mcpCodex]: IN_CONTAINER.mcpCodex });
  }
  const secretDirs = profile.mounts.flatMap((m) => (m.kind === 'secrets' ? [m.target] : []));
  if (secretDirs.length) env[V.secretDirs] = secretDirs.join(',');
  return {
    mounts,
    env: withSecretVariables(
      env,
      profile.mcp.flatMap((s) => ('tokenEnv' in s && s.tokenEnv ? [s.tokenEnv] : [])),
    ),
  };
}

/** The profile's budget as the variables the action reads (lane-contract/lane-variables.ts); unset ones are left out. */
export function budgetVariables(budget: Profile['budget']): Record<string, string> {
  const env: Record<string, string> = {};
  if (budget?.wallClock !== undefined) env[V.budgetMinutes] = String(budget.wallClock / 60_000);
  if (budget?.turns !== undefined) env[V.budgetTurns] = String(budget.turns);
  if (budget?.tokens !== undefined) env[V.budgetTokens] = String(budget.tokens);
  if (budget?.costUsd !== undefined) env[V.budgetCostUsd] = String(budget.costUsd);
  return env;
}

/** Adds names to the variables the action masks the values of (env-file keys, MCP token variables). */
export function withSecretVariables(env: Record<string, string>, names: string[]): Record<string, string> {
  const all = new Set([...(env[V.secretVars] ?? '').split(',').filter(Boolean), ...names]);
  return all.size ? { ...env, [V.secretVars]: [...all].sort().join(',') } : env;
}

function mountFor(
  m: Mount,
  index: number,
  ctx: {
    config: Config;
    dir: string;
    host: (p: string) => string;
    scope: string;
    profileName: string;
    env: Record<string, string>;
  },
): DockerMount[] {
  switch (m.kind) {
    case 'auth':
      if (m.agent === 'codex') {
        ctx.env[V.codexHome] = IN_CONTAINER.codexHome;
        return [{ Type: 'bind', Source: ctx.host(join(ctx.dir, 'auth', 'codex')), Target: IN_CONTAINER.codexHome }];
      }
      ctx.env[V.claudeConfigDir] = IN_CONTAINER.claudeConfigDir;
      if (m.claudeJson) ctx.env[V.claudeJson] = IN_CONTAINER.claudeJson;
      return [
        { Type: 'bind', Source: ctx.host(join(ctx.dir, 'auth', 'claude')), Target: IN_CONTAINER.claudeConfigDir },
      ];
    case 'secrets':
      // The job folder's copy, empty until the release; the host folder itself is never mounted.
      return [
        { Type: 'bind', Source: ctx.host(join(ctx.dir, 'secrets', String(index))), Target: m.target, ReadOnly: true },
      ];
    case 'data':
      return [{ Type: 'bind', Source: ctx.host(m.source), Target: m.target, ReadOnly: true }];
    case 'workspace':
      return [{ Type: 'bind', Source: ctx.host(join(ctx.dir, 'workspace')), Target: m.target }];
    case 'cache':
      return [
        { Type: 'bind', Source: ctx.host(cacheDir(ctx.config, ctx.scope, ctx.profileName, m.name)), Target: m.target },
      ];
    case 'bind':
      return [{ Type: 'bind', Source: ctx.host(m.source), Target: m.target, ReadOnly: m.mode === 'ro' }];
    case 'gh':
      // Like secrets: the job folder's copy of the login, empty until the release.
      ctx.env.GH_CONFIG_DIR = m.target;
      return [{ Type: 'bind', Source: ctx.host(join(ctx.dir, 'gh', String(index))), Target: m.target, ReadOnly: true }];
  }
}
