// A called workflow's jobs can only narrow the token the calling job hands them: a job that asks for more than the
// caller granted makes GitHub refuse the whole run before any job starts ("The nested job ... is requesting
// 'checks: write', but is only allowed 'checks: none'"). actionlint does not see across files; this does.
import { parse } from 'yaml';

type Level = 'none' | 'read' | 'write';
type Permissions = Record<string, Level>;
const RANK: Record<Level, number> = { none: 0, read: 1, write: 2 };

/** A `permissions:` value as scope → level; undefined when the key is absent (the token then has the defaults). */
function permissionsOf(value: unknown): Permissions | undefined {
  if (value === undefined || value === null) return undefined;
  if (value === 'write-all' || value === 'read-all') {
    const level = value === 'write-all' ? 'write' : 'read';
    return new Proxy({}, { get: () => level, has: () => true }) as Permissions;
  }
  return typeof value === 'object' ? (value as Permissions) : {};
}

/** What each job of a reusable workflow asks for: its own permissions, else the workflow's. */
export function calleePermissions(calleeText: string): Record<string, Permissions> {
  const doc = parse(calleeText) as { permissions?: unknown; jobs?: Record<string, { permissions?: unknown }> };
  const top = permissionsOf(doc.permissions) ?? {};
  return Object.fromEntries(
    Object.entries(doc.jobs ?? {}).map(([id, job]) => [id, permissionsOf(job.permissions) ?? top]),
  );
}

/** For one calling job: the scopes a called job asks for beyond what the caller grants. */
export function permissionShortfall(callerText: string, callerJob: string, calleeText: string): string[] {
  const doc = parse(callerText) as { permissions?: unknown; jobs: Record<string, { permissions?: unknown }> };
  // A caller without any permissions key hands over the repository default, which this check cannot know.
  const granted = permissionsOf(doc.jobs[callerJob]?.permissions) ?? permissionsOf(doc.permissions);
  if (granted === undefined) return [];
  const problems: string[] = [];
  for (const [job, asked] of Object.entries(calleePermissions(calleeText))) {
    for (const [scope, level] of Object.entries(asked)) {
      const has = granted[scope] ?? 'none';
      if (RANK[level] > RANK[has])
        problems.push(
          `jobs.${callerJob}: the called job "${job}" asks for ${scope}: ${level}, the caller grants ${has}`,
        );
    }
  }
  return problems;
}
