// Runs a bundled action the way the Actions runner does: `node dist/<action>/index.js` with INPUT_* variables,
// the event payload in GITHUB_EVENT_PATH, and GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files to read back.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { chownSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const require = createRequire(import.meta.url);

/** A real webhook payload from @octokit/webhooks-examples, e.g. (`pull_request`, `opened`). */
export function webhookExample(event: string, action: string): Record<string, unknown> {
  const all = require('@octokit/webhooks-examples') as Array<{
    name: string;
    examples: Array<Record<string, unknown>>;
  }>;
  const found = all.find((e) => e.name === event)?.examples.find((e) => e.action === action);
  if (!found) throw new Error(`no ${event}.${action} example in @octokit/webhooks-examples`);
  return structuredClone(found);
}

export interface ActionRun {
  exitCode: number | null;
  /** The job log: everything the action printed, workflow commands included. */
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
  /** Milliseconds from spawning node until the action logged the CLI command line (just before it spawns it). */
  msToCliSpawn?: number;
  /** The run's RUNNER_TEMP, to see what the action left there. */
  tempDir: string;
}

export interface ActionRunOptions {
  action: string;
  inputs: Record<string, string>;
  event: { name: string; payload: Record<string, unknown> };
  env: Record<string, string>;
  /** Line the action prints right before it spawns the CLI, for the startup measurement. */
  spawnMarker?: RegExp;
  /** Sends `signal` to the action once `when` resolves, as the runner does when a job is cancelled. */
  interrupt?: { when: Promise<unknown>; signal: NodeJS.Signals };
  /** Runs the action as this user (the test process is root), as a runner's user would. */
  runAs?: { uid: number; gid: number; groups: number[] };
  /** The bundle to run, when not dist/<action>/index.js (say, a copy under a runner's `_actions`). */
  script?: string;
}

export async function runAction(o: ActionRunOptions): Promise<ActionRun> {
  const dir = mkdtempSync(join(tmpdir(), `${o.action}-run-`));
  const eventPath = join(dir, 'event.json');
  const outputPath = join(dir, 'output.txt');
  const summaryPath = join(dir, 'summary.md');
  writeFileSync(eventPath, JSON.stringify(o.event.payload));
  writeFileSync(outputPath, '');
  writeFileSync(summaryPath, '');
  const repository = (o.event.payload.repository as { full_name?: string } | undefined)?.full_name ?? 'o/r';
  const env: Record<string, string> = {
    PATH: `${resolve('node_modules/.bin')}:${process.env.PATH ?? ''}`,
    GITHUB_ACTIONS: 'true',
    GITHUB_EVENT_NAME: o.event.name,
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_REPOSITORY: repository,
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_RUN_ID: '4242',
    GITHUB_OUTPUT: outputPath,
    GITHUB_STEP_SUMMARY: summaryPath,
    RUNNER_TEMP: dir,
    ...Object.fromEntries(Object.entries(o.inputs).map(([k, v]) => [`INPUT_${k.replace(/ /g, '_').toUpperCase()}`, v])),
    ...o.env,
  };
  const started = performance.now();
  const script = o.script ?? resolve('dist', o.action, 'index.js');
  if (o.runAs) for (const path of [dir, eventPath, outputPath, summaryPath]) chownSync(path, o.runAs.uid, o.runAs.gid);
  const { uid, gid, groups } = o.runAs ?? {};
  const child = o.runAs
    ? spawn(
        'setpriv',
        [`--reuid=${uid}`, `--regid=${gid}`, `--groups=${groups!.join(',')}`, '--', process.execPath, script],
        { env, cwd: env.GITHUB_WORKSPACE ?? dir },
      )
    : spawn(process.execPath, [script], { env, cwd: env.GITHUB_WORKSPACE ?? dir });
  let stdout = '';
  let stderr = '';
  let msToCliSpawn: number | undefined;
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
    if (msToCliSpawn === undefined && o.spawnMarker?.test(stdout)) msToCliSpawn = performance.now() - started;
  });
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  void o.interrupt?.when.then(() => child.kill(o.interrupt!.signal));
  const exitCode = await new Promise<number | null>((done) => child.on('close', done));
  return {
    exitCode,
    stdout,
    stderr,
    outputs: parseOutputFile(readFileSync(outputPath, 'utf8')),
    summary: readFileSync(summaryPath, 'utf8'),
    msToCliSpawn,
    tempDir: dir,
  };
}

/** GITHUB_OUTPUT holds `name<<DELIMITER\nvalue\nDELIMITER` blocks. */
export function parseOutputFile(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const pattern = /^([^\n<]+)<<(\S+)\n([\s\S]*?)\n?\2$/gm;
  for (const m of text.matchAll(pattern)) outputs[m[1]!] = m[3]!;
  return outputs;
}

/** The job log as a reader sees it: the runner swallows `::add-mask::` commands instead of printing them. */
export function visibleLog(stdout: string): string {
  return stdout
    .split('\n')
    .filter((l) => !l.startsWith('::add-mask::'))
    .join('\n');
}

/** Values the action asked the runner to mask. */
export function maskedValues(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('::add-mask::'))
    .map((l) => l.slice('::add-mask::'.length));
}
