// A profile's `runnerGroup`, by name, turned into the id GitHub's JIT call takes: looked up once per organisation and
// name, and checked against the repo the job comes from, since a group GitHub will not let the repo use would leave
// the job queued forever behind a runner it can never get.
import type { GitHubApi, OrgApi, RunnerGroup } from './github-client.js';
import { orgApi } from './runner-scope.js';

/** A configuration problem (the group is missing or closed to the repo), not a GitHub outage: retrying cannot help. */
export class RunnerGroupError extends Error {}

const ACCESS_TTL_MS = 5 * 60_000;

interface Cache {
  ids: Map<string, RunnerGroup>;
  access: Map<string, { at: number; repos: Promise<Set<string>> }>;
  privacy: Map<string, { at: number; repos: Promise<Map<string, boolean>> }>;
}
const caches = new WeakMap<OrgApi, Cache>();

function cacheOf(api: OrgApi): Cache {
  let c = caches.get(api);
  if (!c) caches.set(api, (c = { ids: new Map(), access: new Map(), privacy: new Map() }));
  return c;
}

/** A value fetched at most every ACCESS_TTL_MS; a failed fetch is not kept. */
function fresh<T>(
  map: Map<string, { at: number; repos: Promise<T> }>,
  key: string,
  fetch: () => Promise<T>,
  now: number,
) {
  const hit = map.get(key);
  if (hit && now - hit.at < ACCESS_TTL_MS) return hit.repos;
  const repos = fetch();
  map.set(key, { at: now, repos });
  repos.catch(() => map.delete(key));
  return repos;
}

export interface GroupRequest {
  org: string;
  group: string;
  /** The job's repo, "owner/name". */
  repo: string;
  /** Where the group is named, for the error: `profiles.ci.runnerGroup`. */
  path: string;
  /** A lane's group must admit selected repositories only: its runners carry credentials. */
  trusted?: boolean;
  now?: number;
}

/** The group's id, or a RunnerGroupError that names the config path and what is wrong; GitHub errors pass through. */
export async function runnerGroupId(github: GitHubApi, req: GroupRequest): Promise<number> {
  const api = orgApi(github, req.org);
  const cache = cacheOf(api);
  const now = req.now ?? Date.now();
  const key = `${req.org.toLowerCase()}\0${req.group.toLowerCase()}`;
  let group = cache.ids.get(key);
  if (!group) {
    const groups = await api.listRunnerGroups(req.org);
    group = groups.find((g) => g.name.toLowerCase() === req.group.toLowerCase());
    if (!group)
      throw new RunnerGroupError(
        `${req.path}: runner group "${req.group}" does not exist in organisation ${req.org} (its groups: ${groups.map((g) => g.name).join(', ') || 'none'})`,
      );
    cache.ids.set(key, group);
  }
  const refuse = (why: string) => {
    throw new RunnerGroupError(
      `${req.path}: runner group "${group.name}" of organisation ${req.org} does not admit ${req.repo}: ${why}`,
    );
  };
  if (req.trusted && group.visibility !== 'selected')
    throw new RunnerGroupError(
      `${req.path}: runner group "${group.name}" of organisation ${req.org} is open to ${group.visibility === 'private' ? 'every private repository' : 'every repository'} of the org; a trusted profile's runners carry credentials, so their group must be open to selected repositories only (set it so on GitHub, or name another group)`,
    );
  if (group.visibility === 'selected') {
    const admitted = await fresh(
      cache.access,
      `${req.org.toLowerCase()}\0${group.id}`,
      async () => new Set((await api.listRunnerGroupRepos(req.org, group.id)).map((r) => r.toLowerCase())),
      now,
    );
    if (!admitted.has(req.repo.toLowerCase()))
      refuse(
        'it is open to selected repositories only, and this is not one (add it to the group on GitHub, or exclude it from the org entry)',
      );
  }
  if (group.visibility === 'private' || !group.allowsPublicRepositories) {
    const privacy = await fresh(
      cache.privacy,
      req.org.toLowerCase(),
      async () => new Map((await api.listRepos(req.org)).map((r) => [r.fullName.toLowerCase(), r.private])),
      now,
    );
    if (privacy.get(req.repo.toLowerCase()) === false)
      refuse('the repo is public and the group is closed to public repositories');
  }
  return group.id;
}

/** Drops a kept id: GitHub refused it (the group was deleted or recreated), so the next job looks the name up again. */
export function forgetRunnerGroup(github: GitHubApi, org: string, group: string): void {
  if (github.org) cacheOf(github.org).ids.delete(`${org.toLowerCase()}\0${group.toLowerCase()}`);
}
