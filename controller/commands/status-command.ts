// `factory status [--config F] [--job ID] [--url URL] [--json]`: asks the running controller over its loopback status
// endpoint, never Docker, so it shows what the controller believes (queue, runners, timeline), not a guess from labels.
import { act, configOption, EXIT, jsonOption, newCommand } from './command-line.js';
import type { Io } from './io.js';
import { loadConfig } from '../config/config.js';
import type { StatusSnapshot } from '../status/status-snapshot.js';
import { printableJson, renderJob, renderStatus } from '../status/status-table.js';
import type { JobTimeline } from '../observe/timeline.js';
import { errorMessage } from '../util/error-message.js';

const TIMEOUT_MS = 5_000;

async function endpoint(config: string, url: string | undefined, io: Io): Promise<string | undefined> {
  if (url) return url.replace(/\/+$/, '');
  const result = await loadConfig(config);
  if (!result.ok) {
    io.stderr(
      `factory status: ${config}: ${result.problems.length} problem(s)\n${result.problems.map((p) => `  ${p}`).join('\n')}`,
    );
    return undefined;
  }
  const { host, port } = result.config.status;
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}

/** GETs a path of the status endpoint; the error says where it asked and what to check. */
async function get<T>(base: string, path: string): Promise<{ status: number; body: T }> {
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
    throw new Error(
      `no controller answers at ${base} (${cause}): is \`factory controller\` running with this config's status.host and status.port?`,
    );
  }
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as T };
  } catch {
    throw new Error(
      `${base}${path} answered ${res.status} with something that is not JSON: is that port the controller's status endpoint?`,
    );
  }
}

type StatusOptions = { config: string; job?: string; url?: string; json?: boolean };

export function statusProgram(io: Io) {
  const cmd = newCommand('status', io)
    .summary("ask the running controller: GitHub, repos, runners, queue, recent jobs, one job's timeline")
    .description(
      'Asks the running controller over its status endpoint (never Docker), so it shows what the controller believes.',
    )
    .addOption(configOption())
    .option('-j, --job <id>', "one job's timeline")
    .option('--url <url>', "the status endpoint, instead of the config's status.host and status.port")
    .addOption(jsonOption());
  return act(cmd, (opts: StatusOptions) => status(opts, io));
}

async function status(values: StatusOptions, io: Io): Promise<number> {
  if (values.job !== undefined && !/^\d+$/.test(values.job)) {
    io.stderr(`factory status: --job expects a numeric job id, got ${JSON.stringify(values.job)}`);
    return EXIT.usage;
  }
  // Without a scheme fetch fails with a bare TypeError, which would read as "no controller answers".
  if (values.url !== undefined && !/^https?:\/\/[^/]/.test(values.url)) {
    io.stderr(
      `factory status: --url expects the status endpoint as http://HOST:PORT, got ${JSON.stringify(values.url)}`,
    );
    return EXIT.usage;
  }
  const base = await endpoint(values.config, values.url, io);
  if (!base) return 1;
  try {
    if (values.job !== undefined) {
      const { status, body } = await get<JobTimeline & { error?: string }>(base, `/jobs/${values.job}`);
      if (status !== 200) {
        io.stderr(`factory status: ${body.error ?? `job ${values.job}: HTTP ${status}`}`);
        return 1;
      }
      io.stdout(values.json ? printableJson(body) : renderJob(body));
      return 0;
    }
    const { status, body } = await get<StatusSnapshot>(base, '/status');
    if (status !== 200) {
      io.stderr(`factory status: ${base}/status answered HTTP ${status}`);
      return 1;
    }
    io.stdout(values.json ? printableJson(body) : renderStatus(body, base));
    return 0;
  } catch (err) {
    io.stderr(`factory status: ${errorMessage(err)}`);
    return 1;
  }
}
