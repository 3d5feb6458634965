// Which configured entry serves a repository: its own `repos` entry, or an `orgs` entry whose patterns cover it.
// Patterns are globs on the repository's name without the owner: `*` is any run of characters, `?` one character,
// everything else literal; compared case-insensitively, as GitHub compares names. Pure: the webhook path, the poll,
// `validate` and the reconciler all decide the same way.

/** The parts of an `orgs` entry the cover decision reads. */
export interface OrgPatterns {
  name: string;
  include: readonly string[];
  exclude: readonly string[];
}

const cache = new Map<string, RegExp>();

/** A glob as an anchored, case-insensitive regex; `[`, `{` and the like are literal characters here. */
export function globRegex(glob: string): RegExp {
  let re = cache.get(glob);
  if (!re) {
    const body = [...glob]
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
      .join('');
    re = new RegExp(`^${body}$`, 'i');
    cache.set(glob, re);
  }
  return re;
}

export const matchesGlob = (name: string, glob: string): boolean => globRegex(glob).test(name);

/** The pattern that lets `fullName` in, or undefined when the entry does not cover it (other owner, excluded, not included). */
export function coveringPattern(org: OrgPatterns, fullName: string): string | undefined {
  const [owner, name] = fullName.split('/');
  if (!owner || !name || owner.toLowerCase() !== org.name.toLowerCase()) return undefined;
  if (org.exclude.some((g) => matchesGlob(name, g))) return undefined;
  return org.include.find((g) => matchesGlob(name, g));
}

export const coversRepo = (org: OrgPatterns, fullName: string): boolean => coveringPattern(org, fullName) !== undefined;

/** The parts of a config the serving decision reads (config.ts's Config has them). */
interface Entries<R extends { repo: string }, O extends OrgPatterns> {
  repos: readonly R[];
  orgs: readonly O[];
}

/**
 * The entry that serves `fullName`, as a repo entry: its own, or one made from the org entry that covers it (then
 * `org` is set and its runners are the org's). `validate` refuses a repo both kinds serve, so at most one does.
 */
export function servedRepo<
  R extends { repo: string },
  O extends OrgPatterns & { profiles: string[]; maxConcurrent: number },
>(
  config: Entries<R, O>,
  fullName: string,
): (R | { repo: string; profiles: string[]; maxConcurrent: number; org: O }) | undefined {
  const wanted = fullName.toLowerCase();
  const own = config.repos.find((r) => r.repo.toLowerCase() === wanted);
  if (own) return own;
  const org = config.orgs.find((o) => coversRepo(o, fullName));
  return org && { repo: fullName, profiles: org.profiles, maxConcurrent: org.maxConcurrent, org };
}
