// The pull request the second-opinion tests review: the `pull_request.opened` webhook example and a small diff
// of a login function that lets a missing user in.
import { webhookExample } from './action-run.js';

export const PR = webhookExample('pull_request', 'opened').pull_request as Record<string, any>;
export const SHA: string = PR.head.sha;
export const BASE_SHA: string = PR.base.sha;

export const AUTH_DIFF = [
  'diff --git a/src/auth.ts b/src/auth.ts',
  '--- a/src/auth.ts',
  '+++ b/src/auth.ts',
  '@@ -10,2 +10,3 @@ export function login() {',
  '   const user = find();',
  '+  if (!user) return true;',
  '   return check(user);',
  '',
].join('\n');
