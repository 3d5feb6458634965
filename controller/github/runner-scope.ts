// Where a runner is registered: at its repo (`/repos/{owner}/{repo}/actions/runners`) or at its organisation
// (`/orgs/{org}/actions/runners`). The daemon speaks of runners through this, so registering, listing and deleting
// always go to the scope the runner was made at (its container's `factory.org` label), whatever the config says now.
import type { DeleteOutcome, GitHubApi, JitConfig, OrgApi, RunnerInfo } from './github-client.js';

export type RunnerScope = { kind: 'repo'; repo: string } | { kind: 'org'; org: string };

/** The scope of a runner from its identity: org-level when it carries an org. */
export const scopeOf = (runner: { repo: string; org?: string | undefined }): RunnerScope =>
  runner.org ? { kind: 'org', org: runner.org } : { kind: 'repo', repo: runner.repo };

export interface ScopedRunners {
  register(body: { name: string; runner_group_id: number; labels: string[]; work_folder: string }): Promise<JitConfig>;
  remove(runnerId: number): Promise<DeleteOutcome>;
  list(): Promise<RunnerInfo[]>;
}

export function orgApi(github: GitHubApi, org: string): OrgApi {
  if (!github.org) throw new Error(`organisation ${org}: this GitHub client has no org scope`);
  return github.org;
}

export function runnersAt(github: GitHubApi, scope: RunnerScope): ScopedRunners {
  if (scope.kind === 'repo') {
    const { repo } = scope;
    return {
      register: (body) => github.generateJitConfig(repo, body),
      remove: (id) => github.deleteRunner(repo, id),
      list: () => github.listRunners(repo),
    };
  }
  const { org } = scope;
  return {
    register: (body) => orgApi(github, org).generateJitConfig(org, body),
    remove: (id) => orgApi(github, org).deleteRunner(org, id),
    list: () => orgApi(github, org).listRunners(org),
  };
}
