// Finds a `/second-opinion` command in a comment the way a reader sees one: at the start of a line, outside
// fenced code blocks and quotes. `/second-opinionated` and a command quoted from someone else do not count.
import type { Agent } from '../../lane-core/lane-settings.js';

export interface SecondOpinionCommand {
  /** The agent the commenter named, if any. */
  agent?: Agent;
  /** Free text after the command: what the review should focus on. */
  focus: string;
}

const COMMAND = /^ {0,3}\/second-opinion(?=\s|$)(.*)$/i;
const FENCE = /^ {0,3}(`{3,}|~{3,})/;

export function parseCommand(body: string): SecondOpinionCommand | undefined {
  let fence: string | undefined;
  for (const line of body.split(/\r?\n/)) {
    const f = FENCE.exec(line);
    if (f) {
      // A fence closes only with the same character, at least as long.
      if (fence === undefined) fence = f[1];
      else if (f[1]![0] === fence[0] && f[1]!.length >= fence.length) fence = undefined;
      continue;
    }
    if (fence !== undefined || /^ {0,3}>/.test(line)) continue;
    const m = COMMAND.exec(line);
    if (!m) continue;
    const rest = m[1]!.trim();
    const named = /^(codex|claude)\b[\s,:-]*/i.exec(rest);
    return named
      ? { agent: named[1]!.toLowerCase() as Agent, focus: rest.slice(named[0].length).trim() }
      : { focus: rest };
  }
  return undefined;
}
