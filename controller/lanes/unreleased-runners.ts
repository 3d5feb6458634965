// The controller's backstop behind the job-started gate: a lane runner that went busy (GitHub gave it a job) and
// still has no release a bounded time later is stopped with its container. The gate ends such a job itself when its
// wait runs out; this bound catches what the gate cannot see (an image whose runner ignores the hook variable, a hook
// that never got to run), so no lane container outlives an assignment nobody verified.
import { HOOK_WAIT_SECONDS } from './job-started-hook.js';

/** Past the gate's own wait, with room for a release written at its last second to be seen. */
export const UNRELEASED_LIMIT_MS = (HOOK_WAIT_SECONDS + 60) * 1000;

/** The runners whose job has been running unreleased for `limitMs` or more, by name. Pure. */
export function overdueUnreleased(
  busySince: ReadonlyMap<string, number>,
  now: number,
  limitMs: number = UNRELEASED_LIMIT_MS,
): string[] {
  return [...busySince].filter(([, since]) => now - since >= limitMs).map(([name]) => name);
}

/** When each lane runner was first seen busy, until its release or its end. */
export class UnreleasedRunners {
  private readonly busySince = new Map<string, number>();

  /** The runner took a job (an in_progress delivery, or the poll saw it busy); the first sighting counts. */
  busy(runnerName: string, at: number): void {
    if (!this.busySince.has(runnerName)) this.busySince.set(runnerName, at);
  }

  /** Released, or gone: nothing left to bound. */
  settled(runnerName: string): void {
    this.busySince.delete(runnerName);
  }

  overdue(now: number, limitMs?: number): string[] {
    return overdueUnreleased(this.busySince, now, limitMs);
  }
}
