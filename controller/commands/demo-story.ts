// The demo's controller log told as a story: each event of one job's life as a sentence a newcomer can follow, in
// the order it happened. Events it has no sentence for are left to the log itself (shown at --log-level).

type Event = Record<string, unknown>;

const list = (v: unknown) => (Array.isArray(v) ? v.map(String).join(', ') : String(v));

const SENTENCES: Record<string, (e: Event) => string | string[]> = {
  'controller listening for webhooks': (e) =>
    `The controller listens for GitHub's workflow_job webhooks at ${String(e.url)}${String(e.path)}.`,
  'GitHub check': (e) =>
    `It asks GitHub about ${String(e.repo)}, the repo it serves: ${e.github === 'ok' ? 'reachable, token accepted' : String(e.github)}.`,
  'job taken': (e) =>
    `A webhook arrives: job ${String(e.jobId)} is queued with labels [${list(e.labels)}], which profile "${String(e.profile)}" covers, so the controller takes it.`,
  'runner registered (JIT)': (e) =>
    `It registers a single-use runner for the job with GitHub's JIT API: ${String(e.runner)}.`,
  'container started': (e) =>
    `It starts that runner in a fresh container (${String(e.containerId)}), ${Number(e.pickupMs)} ms after the webhook.`,
  'runner picked up job': (e) => `The runner connects to GitHub and is given job ${String(e.jobId)}.`,
  'runner container finished': (e) => [
    'The job ends and the container exits. Its last lines:',
    ...(Array.isArray(e.lastLines) ? e.lastLines.map((l) => `  | ${String(l)}`) : []),
  ],
  'runner cleaned up': () => 'The controller removes the container and deregisters the runner: nothing is left behind.',
};

/** The story's lines for one log event, or undefined when the story has none for it. */
export function storyLines(event: Event): string[] | undefined {
  const sentence = SENTENCES[String(event.msg)];
  if (!sentence) return undefined;
  const out = sentence(event);
  return Array.isArray(out) ? out : [out];
}

/** Numbers the steps as they come: the first line of each event gets `N. `, its further lines are indented. */
export class Story {
  private step = 0;

  constructor(private readonly write: (line: string) => void) {}

  tell(lines: string[]): void {
    this.step += 1;
    const [first, ...rest] = lines;
    this.write(`${String(this.step).padStart(2)}. ${first}`);
    for (const line of rest) this.write(`    ${line}`);
  }
}
