// Which agent gives the second opinion: the one named in the command, else the one that did not write the PR.
import type { Agent } from '../../lane-core/lane-settings.js';

export interface Authorship {
  headRef: string;
  authorLogin: string;
  commitMessages: string[];
  /** Agents that already posted an agent-lane comment on the PR (they worked on it). */
  laneCommentAgents: Agent[];
}

export interface AgentChoice {
  agent: Agent;
  reason: string;
}

const other = (a: Agent): Agent => (a === 'codex' ? 'claude' : 'codex');

/** The agent whose work the PR is, from the strongest signal available. */
export function authorAgent(a: Authorship): { agent: Agent; signal: string } | undefined {
  const branch = /^(codex|claude)[/_-]/i.exec(a.headRef);
  if (branch) return { agent: branch[1]!.toLowerCase() as Agent, signal: `head branch ${a.headRef}` };
  const login = a.authorLogin.toLowerCase();
  if (/codex/.test(login)) return { agent: 'codex', signal: `author ${a.authorLogin}` };
  if (/claude|anthropic/.test(login)) return { agent: 'claude', signal: `author ${a.authorLogin}` };
  for (const message of a.commitMessages) {
    for (const trailer of message.match(/^co-authored-by:.*$/gim) ?? []) {
      if (/claude|anthropic/i.test(trailer)) return { agent: 'claude', signal: 'a Co-authored-by trailer' };
      if (/codex|openai/i.test(trailer)) return { agent: 'codex', signal: 'a Co-authored-by trailer' };
    }
  }
  const lane = a.laneCommentAgents[0];
  if (lane) return { agent: lane, signal: `an earlier agent-lane comment by ${lane}` };
  return undefined;
}

export function chooseAgent(named: Agent | undefined, authorship: Authorship, fallback: Agent): AgentChoice {
  if (named) return { agent: named, reason: 'named in the command' };
  const author = authorAgent(authorship);
  if (author) return { agent: other(author.agent), reason: `${author.agent} wrote the PR (${author.signal})` };
  return { agent: fallback, reason: 'default-agent (no sign of which agent wrote the PR)' };
}
