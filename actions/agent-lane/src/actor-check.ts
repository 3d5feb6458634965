// Who may start a credentialed lane. An event-triggered run (a PR, a comment, a review) is started by whoever did
// that, and the lane runs with the host's subscription and secrets: by default only people with write access to the
// repository, bots the workflow names and users it lists may. workflow_dispatch and schedule need no check: GitHub
// lets only people with write access start or schedule those.

import type { ActorPolicy } from './lane-inputs.js';

const UNCHECKED_EVENTS = new Set(['workflow_dispatch', 'schedule']);
const WRITE = new Set(['admin', 'maintain', 'write']);

export interface Actor {
  login: string;
  /** GitHub Apps act as `name[bot]`. */
  isBot: boolean;
}

/** The repository role of a login (admin, maintain, write, triage, read, none), from GitHub. */
export type PermissionLookup = (login: string) => Promise<string>;

/** Undefined when the actor may start the lane; otherwise the reason, for the failed step. */
export async function actorRefusal(
  eventName: string,
  actor: Actor,
  policy: ActorPolicy,
  permission: PermissionLookup,
): Promise<string | undefined> {
  if (policy.mode === 'never' || (policy.mode === 'auto' && UNCHECKED_EVENTS.has(eventName))) return undefined;
  const login = actor.login.toLowerCase();
  if (!login) return `the ${eventName} event names no actor, and check-actor is on`;
  if (policy.allowUsers.includes('*') || policy.allowUsers.includes(login)) return undefined;
  if (actor.isBot) {
    const name = login.replace(/\[bot\]$/, '');
    if (policy.allowedBots.includes('*') || policy.allowedBots.includes(login) || policy.allowedBots.includes(name))
      return undefined;
    return `${actor.login} is a bot; bots may start this lane only when allowed-bots names them`;
  }
  const role = await permission(actor.login);
  if (WRITE.has(role)) return undefined;
  return `${actor.login} has ${role} access; this lane starts only for people with write access, or users in allow-users`;
}
