// The pickup by stage, read from a job's timeline (GET /jobs/ID): each stage on its way to running, timed from the
// job's stage before it, as factory_pickup_stage_seconds times them. A warm start has no runner stages of its own.
import type { JobTimeline } from '../controller/observe/timeline.js';
import { median } from './stats.js';

export const PICKUP_STAGES = [
  'runner-created',
  'container-started',
  'runner-online',
  'in_progress',
  'released',
] as const;
export type PickupStage = (typeof PICKUP_STAGES)[number];

/** One job's stage durations in ms; a stage the job did not pass is absent. */
export function stageDurations(timeline: JobTimeline): Partial<Record<PickupStage, number>> {
  const at = (stage: string) => timeline.events.find((e) => e.stage === stage)?.at;
  let previous = at('queued');
  const out: Partial<Record<PickupStage, number>> = {};
  if (previous === undefined) return out;
  for (const stage of PICKUP_STAGES) {
    const t = at(stage);
    if (t === undefined) continue;
    out[stage] = Math.max(0, t - previous);
    previous = t;
  }
  return out;
}

/** The median of each stage over the jobs that passed it. */
export function stageMedians(jobs: ReadonlyArray<Partial<Record<PickupStage, number>>>) {
  const out: Partial<Record<PickupStage, number>> = {};
  for (const stage of PICKUP_STAGES) {
    const values = jobs.flatMap((j) => (j[stage] === undefined ? [] : [j[stage]!]));
    if (values.length) out[stage] = median(values);
  }
  return out;
}

/** "registered 120 ms · container 300 ms · …" for a table cell. */
export function stagesText(m: Partial<Record<PickupStage, number>>): string {
  const names: Record<PickupStage, string> = {
    'runner-created': 'registered',
    'container-started': 'container',
    'runner-online': 'online',
    in_progress: 'in progress',
    released: 'released',
  };
  return PICKUP_STAGES.filter((s) => m[s] !== undefined)
    .map((s) => `${names[s]} ${Math.round(m[s]!)} ms`)
    .join(' · ');
}
