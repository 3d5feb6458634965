// One comment per lane on a pull request, found again by a hidden marker and edited in place on re-runs, so a
// PR that is pushed ten times has one up-to-date answer instead of ten stale ones.
import type { IssueComment, LaneGitHub } from './lane-github.js';

export function commentMarker(key: string): string {
  return `<!-- factory:${key} -->`;
}

/** The comment that carries the marker on its first line; a quote of it in someone's reply does not count. */
export function findStickyComment(comments: IssueComment[], marker: string): IssueComment | undefined {
  return comments.find((c) => (c.body ?? '').split('\n', 1)[0]!.trim() === marker);
}

export async function upsertStickyComment(
  gh: LaneGitHub,
  issue: number,
  key: string,
  text: string,
): Promise<{ comment: IssueComment; created: boolean }> {
  const marker = commentMarker(key);
  const body = `${marker}\n${text}`;
  const existing = findStickyComment(await gh.listIssueComments(issue), marker);
  if (existing) return { comment: await gh.updateIssueComment(existing.id, body), created: false };
  return { comment: await gh.createIssueComment(issue, body), created: true };
}
