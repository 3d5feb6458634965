// Doctor's runner version row: the Actions runner the images pin against GitHub's latest release. GitHub stops
// registering a runner some weeks after a newer one ships, so an old pin is said early, as a warning with the way to
// upgrade. GitHub not answering (offline, a proxy, a rate limit) is not the host's fault: the row says it could not
// check and passes.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packageRoot } from '../util/package-root.js';
import { errorMessage } from '../util/error-message.js';
import type { DoctorRow } from './doctor-script.js';

/** Where the images pin the runner (`ARG RUNNER_VERSION=`), relative to the package. */
export const RUNNER_PIN_FILE = 'images/factory-upstream/Dockerfile';
const ASK_TIMEOUT_MS = 15_000;
const NAME = 'runner version';

/** The runner version the images pin, read from the package's upstream Dockerfile. */
export async function pinnedRunnerVersion(root = packageRoot()): Promise<string> {
  const file = join(root, RUNNER_PIN_FILE);
  const text = await readFile(file, 'utf8');
  const m = /^ARG RUNNER_VERSION=(\d+\.\d+\.\d+)\s*$/m.exec(text);
  if (!m) throw new Error(`${file}: no ARG RUNNER_VERSION=X.Y.Z line`);
  return m[1]!;
}

/** Negative when `a` is older than `b`; undefined when either is not X.Y.Z. */
export function compareVersions(a: string, b: string): number | undefined {
  const parse = (v: string) => (/^\d+\.\d+\.\d+$/.test(v) ? v.split('.').map(Number) : undefined);
  const x = parse(a);
  const y = parse(b);
  if (!x || !y) return undefined;
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return 0;
}

/** The pin against `latest()`; every way of not knowing the latest is a passing "could not check". */
export async function runnerVersionRow(
  pinned: () => Promise<string>,
  latest: (() => Promise<string>) | undefined,
  timeoutMs = ASK_TIMEOUT_MS,
): Promise<DoctorRow> {
  const row = (ok: boolean, detail: string, extra: Partial<DoctorRow> = {}): DoctorRow => ({
    scope: 'host',
    name: NAME,
    ok,
    detail,
    ...extra,
  });
  let pin: string;
  try {
    pin = await pinned();
  } catch (err) {
    return row(false, `cannot read the pinned version: ${errorMessage(err)}`, {
      fix: `reinstall the package: ${RUNNER_PIN_FILE} is part of it`,
    });
  }
  if (!latest) return row(true, `${pin} pinned; could not check GitHub's latest (no GitHub client to ask with)`);
  let newest: string;
  let timer: NodeJS.Timeout | undefined;
  try {
    newest = await Promise.race([
      latest(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
      }),
    ]);
  } catch (err) {
    return row(true, `${pin} pinned; could not check GitHub's latest actions/runner release (${errorMessage(err)})`);
  } finally {
    clearTimeout(timer);
  }
  const order = compareVersions(pin, newest);
  if (order === undefined)
    return row(true, `${pin} pinned; could not check: GitHub's latest release is named "${newest}"`);
  if (order >= 0) return row(true, `${pin} pinned, GitHub's latest is ${newest}`);
  return row(true, `${pin} pinned is older than GitHub's latest ${newest}`, {
    warning: true,
    fix: `GitHub refuses old runners some weeks after a release: set RUNNER_VERSION in ${RUNNER_PIN_FILE} and rebuild the images (docs/upgrading.md)`,
  });
}
