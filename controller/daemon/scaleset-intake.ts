// The intake with no inbound port: one runner scale set per profile of each repo entry and each org entry, named by
// the profile's own label, each with its listener (scaleset-listener.ts). Their messages become the deliveries the
// webhook gives and go through the same intake, books and assignment check. A taken job's runner registers through
// its scale set (generatejitconfig) instead of the REST JIT route, so GitHub gives it only that scale set's jobs;
// `throughScaleSets` makes that swap beneath the launcher, which keeps speaking of runners as before.
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Config, Profile } from '../config/config.js';
import { ActionsService } from '../github/actions-service.js';
import type { GitHubApi, OrgApi } from '../github/github-client.js';
import type { RunnerScope } from '../github/runner-scope.js';
import type { WorkflowJobDelivery } from '../model/workflow-job.js';
import type { Logger } from '../observe/logger.js';
import { runnerLabels } from './profile-match.js';
import { ScaleSetListener, type ScaleSetView } from './scaleset-listener.js';

export interface ScaleSetPlan {
  scope: RunnerScope;
  profileName: string;
  name: string;
  labels: string[];
  runnerGroup: string | undefined;
  capacity: number;
}

/**
 * The scale set a profile is, named by its label: the last of its labels (the most specific, `ci` of
 * `[self-hosted, factory, ci]`), or its own name when it has only `self-hosted`.
 */
export function scaleSetName(profileName: string, profile: Profile): string {
  const own = profile.labels.filter((l) => l.toLowerCase() !== 'self-hosted');
  return own.at(-1) ?? profileName;
}

/** Every scale set the config asks for: each profile of each repo entry, and of each org entry. */
export function scaleSetPlans(config: Config): ScaleSetPlan[] {
  const plan = (scope: RunnerScope, profileName: string, maxConcurrent: number, org: boolean): ScaleSetPlan => {
    const profile = config.profiles[profileName]!;
    return {
      scope,
      profileName,
      name: scaleSetName(profileName, profile),
      labels: runnerLabels(profile),
      runnerGroup: org ? profile.runnerGroup : undefined,
      capacity: Math.min(config.maxConcurrent, maxConcurrent),
    };
  };
  return [
    ...config.repos.flatMap((r) =>
      r.profiles.map((p) => plan({ kind: 'repo', repo: r.repo }, p, r.maxConcurrent, false)),
    ),
    ...config.orgs.flatMap((o) => o.profiles.map((p) => plan({ kind: 'org', org: o.name }, p, o.maxConcurrent, true))),
  ];
}

const scopeKey = (s: RunnerScope) => (s.kind === 'repo' ? `repo:${s.repo}` : `org:${s.org}`).toLowerCase();
const labelsKey = (labels: readonly string[]) => labels.map((l) => l.toLowerCase()).join(',');

interface Running {
  plan: ScaleSetPlan;
  service: ActionsService;
  listener: ScaleSetListener;
}

export interface ScaleSetIntakeDeps {
  config: Config;
  github: GitHubApi;
  log: Logger;
  deliver: (d: WorkflowJobDelivery) => void;
  /** A runner that can get no job any more (its scale set was deleted): the controller cleans it up. */
  cleanUp: (runnerName: string, reason: string) => void;
  fetch?: typeof fetch;
  retryMs?: { first: number; max: number };
}

export class ScaleSetIntake {
  private readonly running: Running[] = [];
  /** Runners registered through a scale set, by id (removal goes to the service) and by scale set (for a replacement). */
  private readonly runnerService = new Map<number, ActionsService>();
  private readonly runnersOf = new Map<number, Set<string>>();

  constructor(private readonly deps: ScaleSetIntakeDeps) {
    const { config, github, log } = deps;
    const services = new Map<string, ActionsService>();
    for (const plan of scaleSetPlans(config)) {
      const key = scopeKey(plan.scope);
      let service = services.get(key);
      if (!service) {
        const scope = plan.scope;
        service = new ActionsService({
          apiUrl: config.github.apiUrl,
          scope,
          registrationToken: () => registrationToken(github, scope),
          ...(deps.fetch ? { fetch: deps.fetch } : {}),
        });
        services.set(key, service);
      }
      const cursorName = `${key.replace(/[^a-z0-9_.-]+/g, '_')}-${plan.name.replace(/[^A-Za-z0-9_.-]+/g, '_')}`;
      const listener = new ScaleSetListener({
        service,
        scaleSet: { name: plan.name, labels: plan.labels, runnerGroup: plan.runnerGroup },
        owner: `${hostname()}/${config.instance}`,
        capacity: () => plan.capacity,
        cursorFile: join(config.stateDir, `scaleset-${config.instance}`, `${cursorName}.json`),
        deliver: deps.deliver,
        replaced: (oldId) => this.retire(oldId),
        log: log.child({ scaleSet: plan.name }),
        ...(deps.retryMs ? { retryMs: deps.retryMs } : {}),
      });
      this.running.push({ plan, service, listener });
    }
  }

  start(): void {
    for (const r of this.running) r.listener.start();
  }

  stop(): Promise<void> {
    return Promise.all(this.running.map((r) => r.listener.stop())).then(() => undefined);
  }

  views(): Array<ScaleSetView & { scope: string; profile: string }> {
    return this.running.map((r) => ({
      ...r.listener.view(),
      scope: r.plan.scope.kind === 'repo' ? r.plan.scope.repo : r.plan.scope.org,
      profile: r.plan.profileName,
    }));
  }

  /** Offers again every job a scale set acquired and no runner started yet: the books take only what they lack. */
  offerPending(): void {
    for (const r of this.running) for (const d of r.listener.pendingDeliveries()) this.deps.deliver(d);
  }

  /** The GitHub client the controller launches with: runners of a scale set's scope and labels register through it. */
  throughScaleSets(github: GitHubApi): GitHubApi {
    const find = (scope: RunnerScope, labels: readonly string[]) =>
      this.running.find(
        (r) => scopeKey(r.plan.scope) === scopeKey(scope) && labelsKey(r.plan.labels) === labelsKey(labels),
      );
    const register = async (target: Running, name: string, workFolder: string) => {
      const id = target.listener.scaleSetId;
      if (id === undefined) throw new Error(`scale set ${target.plan.name} is not ready yet`);
      const jit = await target.service.generateJitConfig(id, name, workFolder);
      this.runnerService.set(jit.runnerId, target.service);
      const names = this.runnersOf.get(id) ?? new Set<string>();
      this.runnersOf.set(id, names.add(name));
      return jit;
    };
    const remove = async (runnerId: number, fallback: () => ReturnType<GitHubApi['deleteRunner']>) => {
      const service = this.runnerService.get(runnerId);
      if (!service) return fallback();
      const outcome = await service.removeRunner(runnerId);
      this.runnerService.delete(runnerId);
      return outcome;
    };
    const org: OrgApi | undefined = github.org && {
      ...github.org,
      generateJitConfig: (name, body) => {
        const target = find({ kind: 'org', org: name }, body.labels);
        return target ? register(target, body.name, body.work_folder) : github.org!.generateJitConfig(name, body);
      },
      deleteRunner: (name, id) => remove(id, () => github.org!.deleteRunner(name, id)),
    };
    return {
      ...github,
      generateJitConfig: (repo, body) => {
        const target = find({ kind: 'repo', repo }, body.labels);
        return target ? register(target, body.name, body.work_folder) : github.generateJitConfig(repo, body);
      },
      deleteRunner: (repo, id) => remove(id, () => github.deleteRunner(repo, id)),
      ...(org ? { org } : {}),
    };
  }

  /** The scale set was deleted on the service: its runners will never get a job, so they go and their jobs requeue. */
  private retire(oldId: number): void {
    for (const name of this.runnersOf.get(oldId) ?? []) this.deps.cleanUp(name, 'its runner scale set was deleted');
    this.runnersOf.delete(oldId);
  }
}

function registrationToken(github: GitHubApi, scope: RunnerScope) {
  if (scope.kind === 'repo') {
    if (!github.registrationToken) throw new Error('this GitHub client cannot make registration tokens');
    return github.registrationToken(scope.repo);
  }
  if (!github.org?.registrationToken) throw new Error('this GitHub client cannot make org registration tokens');
  return github.org.registrationToken(scope.org);
}
