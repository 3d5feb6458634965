// Reads the triggering event into the plain data the lane core takes: the PR (as untrusted data for the prompt)
// and where reports go.
import { readFileSync } from 'node:fs';
import { obj, str } from '../../lane-core/lane-event.js';
import type { PullRequestContext } from '../../lane-core/lane-prompt.js';
import type { ReportContext } from '../../lane-core/report-context.js';

export interface EventContext {
  eventName: string;
  /** @actions/github's getter throws without GITHUB_REPOSITORY (a local run); reports then have nowhere to go. */
  readonly repo: { owner: string; repo: string };
  payload: Record<string, unknown>;
  serverUrl: string;
  runId: number;
  actor: string;
}

/** The event as the runner describes it, read the way @actions/github's context reads it, without loading Octokit
 * (half the bundle) on the way to the agent's start. */
export function eventContextOf(env: Record<string, string | undefined>): EventContext {
  let payload: Record<string, unknown> = {};
  const path = env.GITHUB_EVENT_PATH;
  if (path) {
    let text: string | undefined;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new Error(`GITHUB_EVENT_PATH ${path} cannot be read: ${(err as Error).message}`);
    }
    try {
      payload = obj(JSON.parse(text));
    } catch (err) {
      throw new Error(`GITHUB_EVENT_PATH ${path} is not JSON: ${(err as Error).message}`);
    }
  }
  const full = env.GITHUB_REPOSITORY ?? '';
  const repository = obj(payload.repository);
  return {
    eventName: env.GITHUB_EVENT_NAME ?? '',
    payload,
    serverUrl: env.GITHUB_SERVER_URL || 'https://github.com',
    runId: Number.parseInt(env.GITHUB_RUN_ID ?? '', 10),
    actor: env.GITHUB_ACTOR ?? '',
    get repo() {
      if (full.includes('/')) {
        const [owner, repo] = full.split('/');
        return { owner: owner!, repo: repo! };
      }
      const owner = str(obj(repository.owner).login);
      if (owner && str(repository.name)) return { owner, repo: str(repository.name) };
      throw new Error('no GITHUB_REPOSITORY and no repository in the event');
    },
  };
}

function repoOf(ctx: EventContext): { owner: string; repo: string } {
  try {
    return ctx.repo;
  } catch {
    return { owner: '', repo: '' };
  }
}

export function pullRequestOf(ctx: EventContext): PullRequestContext | undefined {
  const pr = obj(ctx.payload.pull_request);
  if (typeof pr.number !== 'number') return undefined;
  const { owner, repo } = repoOf(ctx);
  return {
    repository: `${owner}/${repo}`,
    number: pr.number,
    title: str(pr.title),
    body: str(pr.body),
    author: str(obj(pr.user).login),
    baseRef: str(obj(pr.base).ref),
    headRef: str(obj(pr.head).ref),
    headSha: str(obj(pr.head).sha),
    url: str(pr.html_url),
  };
}

/** The pull request's base commit: what the repository said before the PR, the source of its prompt. */
export function baseShaOf(ctx: EventContext): string | undefined {
  const sha = str(obj(obj(ctx.payload.pull_request).base).sha);
  return sha || undefined;
}

export function reportContextOf(ctx: EventContext, pr: PullRequestContext | undefined): ReportContext {
  const { owner, repo } = repoOf(ctx);
  return {
    owner,
    repo,
    pullNumber: pr?.number,
    headSha: pr?.headSha || undefined,
    runUrl: ctx.runId && owner ? `${ctx.serverUrl}/${owner}/${repo}/actions/runs/${ctx.runId}` : undefined,
  };
}

/** Who triggered the run: GITHUB_ACTOR; a bot when the login says so or the event's sender is one. */
export function actorOf(ctx: EventContext): { login: string; isBot: boolean } {
  const sender = obj(ctx.payload.sender);
  const login = ctx.actor || str(sender.login);
  return { login, isBot: login.endsWith('[bot]') || (str(sender.login) === login && sender.type === 'Bot') };
}
