// Real webhook payloads, as GitHub sent them, from @octokit/webhooks-examples.
import { createRequire } from 'node:module';

type Payload = Record<string, any>;
const all = createRequire(import.meta.url)('@octokit/webhooks-examples') as Array<{
  name: string;
  examples: Payload[];
}>;

/** A deep copy of the first example of `event` that satisfies `pick`; throws when there is none. */
export function webhookExample(event: string, pick: (p: Payload) => boolean = () => true): Payload {
  const found = all.find((e) => e.name === event)?.examples.find(pick);
  if (!found) throw new Error(`@octokit/webhooks-examples has no matching ${event} example`);
  return structuredClone(found);
}
